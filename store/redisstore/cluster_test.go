package redisstore_test

import (
	"testing"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/internal/redistest"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// TestCluster runs the suites, the Redis-specific checks and the owner index on a Redis
// Cluster of three masters, where a session and its owner's set live on different nodes
// (so a command for both in one script would be refused with CROSSSLOT).
func TestCluster(t *testing.T) {
	t.Parallel()
	c := dial(t, rueidis.ClientOption{InitAddress: redistest.StartCluster(t, 3, 0).Addrs()})
	if n := len(c.Nodes()); n != 3 {
		t.Fatalf("cluster client sees %d nodes, want 3", n)
	}

	t.Run("Spread", func(t *testing.T) {
		t.Parallel()
		s := newStoreOn(t, c, redisstore.Options{})
		for range 30 {
			if err := s.KV.Create(t.Context(), newKey(), record(1, "", "x")); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range c.Nodes() {
			k, err := n.Do(t.Context(), n.B().Dbsize().Build()).AsInt64()
			if err != nil || k == 0 {
				t.Errorf("a master holds %d keys (%v); want sessions on every master", k, err)
			}
		}
	})
	t.Run("EndRace", func(t *testing.T) {
		t.Parallel()
		testEndRace(t, c)
	})
	t.Run("OwnerIndexBounded", func(t *testing.T) {
		t.Parallel()
		testOwnerIndexBounded(t, c)
	})
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			newStore := func(t *testing.T) *redisstore.Store { return newStoreOn(t, c, cfg.opts) }
			runSuites(t, newStore)
			t.Run("Redis", func(t *testing.T) {
				t.Parallel()
				testKVRedis(t, newStore(t), c)
			})
			t.Run("Owner", func(t *testing.T) {
				t.Parallel()
				testOwner(t, newStore(t), c)
			})
			t.Run("ConcurrentUpdates", func(t *testing.T) {
				t.Parallel()
				increments(t, newStore(t).KV, 50)
			})
		})
	}
}

// TestClusterFailover runs the suites with WaitReplicas 1 on a Redis Cluster of three
// masters with a replica each, where a durable write waits on the connection of each
// slot it touches; then freezes the replicas (a durable write is an error, a default
// one succeeds); then fails a master over in the middle of traffic through a Manager,
// by hand (CLUSTER FAILOVER on its replica), and then by SIGKILL. Like TestSentinel, it
// does not run in parallel with the other tests of the package.
func TestClusterFailover(t *testing.T) {
	topo := startReplicatedCluster(t)
	t.Run("Suites", func(t *testing.T) {
		newStore := func(t *testing.T) *redisstore.Store {
			return newStoreOn(t, topo.Client(), redisstore.Options{WaitReplicas: 1})
		}
		runSuites(t, newStore)
		t.Run("Owner", func(t *testing.T) {
			t.Parallel()
			testOwner(t, newStore(t), topo.Client())
		})
	})
	t.Run("Frozen", func(t *testing.T) { testFrozen(t, topo) })
	t.Run("Manual", func(t *testing.T) {
		skipShort(t)
		testFailover(t, topo, failoverCase{manual: true})
	})
	t.Run("Kill", func(t *testing.T) {
		skipShort(t)
		testFailover(t, topo, failoverCase{})
	})
}
