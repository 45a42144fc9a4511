package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/internal/redistest"
)

// topology is a replicated Redis deployment the test started: the client an
// application would use, and what a failover test does to it.
type topology interface {
	fmt.Stringer
	// Client is the application's client, closed when the test ends.
	Client() rueidis.Client
	// Replicas returns the replicas.
	Replicas(t *testing.T) []*redistest.Server
	// Settle waits until every replica has acknowledged all its master sent it.
	Settle(t *testing.T)
	// CaughtUp waits until every replica has all that its master had written when
	// CaughtUp was called; unlike Settle, it returns while writes go on.
	CaughtUp(t *testing.T)
	// Lag freezes every replica and fills the replication link of the master that
	// holds key (redistest.Backlog), so that what that master acknowledges from then
	// on is on no replica, not even in a socket buffer.
	Lag(t *testing.T, key string)
	// Kill kills the master that holds key (SIGKILL) and returns its address.
	Kill(t *testing.T, key string) string
	// Promoted waits until a replica of the killed master serves in its place.
	Promoted(t *testing.T)
	// SameMaster reports whether the keys a and b are on the same master.
	SameMaster(t *testing.T, a, b string) bool
	// Switch fails the master that holds key over to its replica by hand (the master
	// hands over), and returns the old master's address once the replica serves.
	Switch(t *testing.T, key string) string
	// Resynced waits until the deployment has a replica in sync with every master
	// again, if it can without help (Sentinel with a second replica), and reports
	// whether it can.
	Resynced(t *testing.T) bool
}

// sentinelTopology is a master, its replicas and three Sentinels, and a rueidis
// Sentinel client.
type sentinelTopology struct {
	master    *redistest.Server
	replicas  []*redistest.Server
	sentinels *redistest.Sentinels
	client    rueidis.Client
	killed    string
	promoted  string
}

// startSentinel starts a master with the given number of replicas and three Sentinels
// watching it, and connects a Sentinel client.
func startSentinel(t *testing.T, replicas int) *sentinelTopology {
	t.Helper()
	s := &sentinelTopology{master: redistest.Start(t, "")}
	for range replicas {
		s.replicas = append(s.replicas, redistest.StartReplica(t, s.master))
	}
	s.sentinels = redistest.StartSentinels(t, s.master, replicas, 3)
	s.client = dial(t, rueidis.ClientOption{
		InitAddress: s.sentinels.Addrs(),
		Sentinel:    rueidis.SentinelOption{MasterSet: s.sentinels.Name},
	})
	return s
}

func (s *sentinelTopology) Client() rueidis.Client                  { return s.client }
func (s *sentinelTopology) Replicas(*testing.T) []*redistest.Server { return s.replicas }

func (s *sentinelTopology) Settle(t *testing.T) { t.Helper(); redistest.WaitAcked(t, s.master) }

func (s *sentinelTopology) CaughtUp(t *testing.T) {
	t.Helper()
	redistest.WaitSynced(t, s.master, s.replicas...)
}

func (c *clusterTopology) Settle(t *testing.T) {
	t.Helper()
	for _, m := range c.cluster.Masters(t) {
		redistest.WaitAcked(t, m)
	}
}

func (c *clusterTopology) CaughtUp(t *testing.T) {
	t.Helper()
	for _, m := range c.cluster.Masters(t) {
		redistest.WaitSynced(t, m, c.cluster.ReplicasOf(t, m)...)
	}
}

func (s *sentinelTopology) Lag(t *testing.T, _ string) {
	t.Helper()
	for _, r := range s.replicas {
		r.Freeze(t)
	}
	redistest.Backlog(t, s.master, "redistest:backlog")
}

func (s *sentinelTopology) Kill(*testing.T, string) string {
	s.master.Kill()
	s.killed = s.master.Addr
	return s.killed
}

func (s *sentinelTopology) Promoted(t *testing.T) {
	t.Helper()
	s.promoted = s.sentinels.WaitSwitch(t, s.killed)
}

func (s *sentinelTopology) Resynced(t *testing.T) bool {
	t.Helper()
	if len(s.replicas) < 2 {
		return false
	}
	var master *redistest.Server
	var rest []*redistest.Server
	for _, r := range s.replicas {
		if r.Addr == s.promoted {
			master = r
		} else {
			rest = append(rest, r)
		}
	}
	redistest.WaitSynced(t, master, rest...)
	return true
}

// clusterTopology is a Redis Cluster with a replica per master, and a rueidis Cluster
// client.
type clusterTopology struct {
	cluster *redistest.Cluster
	client  rueidis.Client
	heir    *redistest.Server // the replica of the killed master
}

// startReplicatedCluster starts a cluster of three masters with a replica each, and
// connects a Cluster client.
func startReplicatedCluster(t *testing.T) *clusterTopology {
	t.Helper()
	c := &clusterTopology{cluster: redistest.StartCluster(t, 3, 1)}
	c.client = dial(t, rueidis.ClientOption{InitAddress: c.cluster.Addrs()})
	return c
}

func (c *clusterTopology) Client() rueidis.Client { return c.client }

func (c *clusterTopology) Replicas(t *testing.T) []*redistest.Server {
	t.Helper()
	var out []*redistest.Server
	for _, m := range c.cluster.Masters(t) {
		out = append(out, c.cluster.ReplicasOf(t, m)...)
	}
	return out
}

func (c *clusterTopology) Lag(t *testing.T, key string) {
	t.Helper()
	m := c.cluster.MasterOf(t, key)
	for _, r := range c.Replicas(t) {
		r.Freeze(t)
	}
	for i := 0; ; i++ {
		junk := fmt.Sprintf("redistest:backlog:%d", i)
		if c.cluster.MasterOf(t, junk) == m {
			redistest.Backlog(t, m, junk)
			return
		}
	}
}

func (c *clusterTopology) Kill(t *testing.T, key string) string {
	t.Helper()
	m := c.cluster.MasterOf(t, key)
	c.heir = c.cluster.ReplicasOf(t, m)[0]
	m.Kill()
	return m.Addr
}

func (s *sentinelTopology) Switch(t *testing.T, _ string) string {
	t.Helper()
	old := s.master.Addr
	if _, err := redistest.Do(s.sentinels.Servers[0].Addr, time.Second, "SENTINEL", "FAILOVER", s.sentinels.Name); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	s.promoted = s.sentinels.WaitSwitch(t, old)
	// The old master is a replica of the new one now.
	servers := append([]*redistest.Server{s.master}, s.replicas...)
	s.replicas = s.replicas[:0]
	for _, srv := range servers {
		if srv.Addr == s.promoted {
			s.master = srv
		} else {
			s.replicas = append(s.replicas, srv)
		}
	}
	redistest.WaitSynced(t, s.master, s.replicas...)
	return old
}

func (c *clusterTopology) Switch(t *testing.T, key string) string {
	t.Helper()
	m := c.cluster.MasterOf(t, key)
	c.cluster.Failover(t, c.cluster.ReplicasOf(t, m)[0])
	return m.Addr
}

func (s *sentinelTopology) SameMaster(*testing.T, string, string) bool { return true }

func (c *clusterTopology) SameMaster(t *testing.T, a, b string) bool {
	t.Helper()
	return c.cluster.MasterOf(t, a) == c.cluster.MasterOf(t, b)
}

func (c *clusterTopology) Promoted(t *testing.T) {
	t.Helper()
	c.cluster.WaitMaster(t, c.heir)
}

func (c *clusterTopology) Resynced(*testing.T) bool { return false }

func (s *sentinelTopology) String() string {
	return fmt.Sprintf("Sentinel (a master, %d replicas, 3 Sentinels)", len(s.replicas))
}

func (c *clusterTopology) String() string { return "Cluster (3 masters, a replica each)" }
