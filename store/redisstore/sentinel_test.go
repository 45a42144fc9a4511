package redisstore_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/store/redisstore"
)

// haConfigs are the store configurations the suites run with on replicated
// deployments.
var haConfigs = []struct {
	name string
	opts redisstore.Options
}{
	{"plain", redisstore.Options{}},
	{"durable", redisstore.Options{WaitReplicas: 1}},
}

// TestSentinel runs the suites through a rueidis Sentinel client, by default and with
// WaitReplicas 1, on a master with one replica watched by three Sentinels; then freezes
// the replica (a durable write is an error, a default one succeeds); then kills the
// master in the middle of traffic through a Manager.
//
// The tests that start replicated deployments do not run in parallel with the other
// tests of the package: their servers and failovers would take the CPU time that the
// suites' concurrency tests (fifty racing requests within the Manager's store budget)
// need. Their own subtests run in parallel.
func TestSentinel(t *testing.T) {
	topo := startSentinel(t, 1)
	t.Run("Suites", func(t *testing.T) {
		for _, cfg := range haConfigs {
			t.Run(cfg.name, func(t *testing.T) {
				t.Parallel()
				runSuites(t, func(t *testing.T) *redisstore.Store { return newStoreOn(t, topo.Client(), cfg.opts) })
			})
		}
	})
	t.Run("Frozen", func(t *testing.T) { testFrozen(t, topo) })
	t.Run("Failover", func(t *testing.T) {
		skipShort(t)
		testFailover(t, topo, failoverCase{})
	})
}

// TestFailoverLag kills a master while its replicas are frozen and its replication
// link is full, so that they lag for real, on Sentinel and on a Cluster. By default,
// the writes the master alone acknowledged are lost, and the test reports how many.
// With WaitReplicas 1, nothing is acknowledged while the replicas are frozen, and
// nothing acknowledged is lost; with a second replica (Sentinel), writes resume once it
// follows the new master.
func TestFailoverLag(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name string
		topo func(t *testing.T) topology
		fc   failoverCase
	}{
		{"Sentinel/Default", func(t *testing.T) topology { return startSentinel(t, 1) }, failoverCase{lag: true}},
		{"Sentinel/WaitReplicas", func(t *testing.T) topology { return startSentinel(t, 2) }, failoverCase{durable: true, lag: true}},
		{"Cluster/Default", func(t *testing.T) topology { return startReplicatedCluster(t) }, failoverCase{lag: true}},
		{"Cluster/WaitReplicas", func(t *testing.T) topology { return startReplicatedCluster(t) }, failoverCase{durable: true, lag: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testFailover(t, tc.topo(t), tc.fc)
		})
	}
}
