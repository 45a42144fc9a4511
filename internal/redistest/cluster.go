package redistest

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession/internal/testenv"
)

// NodeTimeout is the cluster-node-timeout of the clusters StartCluster starts, in
// milliseconds: a master that does not answer for this long is failed over by its
// replica. Short, so that a test's failover completes in a few seconds.
const NodeTimeout = 1000

// Cluster is a Redis Cluster the test started.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts a Redis Cluster of masters masters, each with replicas replicas
// (args appended to every node's), and returns once every node sees the cluster ok and
// every replica has synced.
//
// A replica fails its master over whatever the age of its data
// (cluster-replica-validity-factor 0), so that a replica frozen for a while can still
// be promoted.
func StartCluster(tb testing.TB, masters, replicas int, args ...string) *Cluster {
	tb.Helper()
	c := &Cluster{}
	for range masters * (1 + replicas) {
		c.Nodes = append(c.Nodes, Start(tb, "", append([]string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(NodeTimeout),
			"--cluster-replica-validity-factor", "0",
		}, args...)...))
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Unavailable(tb, "redis-cli", err)
	}
	create := append([]string{"--cluster", "create"}, c.addrs(c.Nodes)...)
	create = append(create, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, create...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli %s: %v\n%s", strings.Join(create, " "), err, out)
	}
	c.WaitOK(tb)
	for _, m := range c.Masters(tb) {
		WaitSynced(tb, m, c.ReplicasOf(tb, m)...)
	}
	return c
}

func (c *Cluster) addrs(nodes []*Server) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}

// Addrs returns the addresses of every node, to seed a client with.
func (c *Cluster) Addrs() []string { return c.addrs(c.Nodes) }

// live returns the nodes that can answer: neither killed nor frozen.
func (c *Cluster) live() []*Server {
	var out []*Server
	for _, n := range c.Nodes {
		n.mu.Lock()
		if !n.killed && !n.frozen {
			out = append(out, n)
		}
		n.mu.Unlock()
	}
	return out
}

// WaitOK waits until every live node reports cluster_state:ok and knows every live
// node, and every master's slots are served by a live master.
func (c *Cluster) WaitOK(tb testing.TB) {
	tb.Helper()
	live := c.live()
	for _, n := range live {
		waitFor(tb, "the cluster node "+n.Addr+" to report the cluster ok", func() error {
			s, err := DoString(n.Addr, cmdTimeout, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			if !strings.Contains(s, "cluster_state:ok") {
				return errors.New(strings.TrimSpace(s))
			}
			nodes, err := DoString(n.Addr, cmdTimeout, "CLUSTER", "NODES")
			if err != nil {
				return err
			}
			for _, m := range live {
				if !strings.Contains(nodes, m.Addr) {
					return fmt.Errorf("it does not know %s yet", m.Addr)
				}
			}
			// A line is: id addr flags master ping pong epoch link slot...; a master
			// that is down (fail? or fail) and still holds slots has not been failed
			// over yet, though cluster_state stays ok until it is flagged fail.
			for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
				if f := strings.Fields(line); len(f) > 8 && strings.Contains(f[2], "master") && strings.Contains(f[2], "fail") {
					return fmt.Errorf("a master that is down still holds slots: %s", line)
				}
			}
			return nil
		}, live...)
	}
}

// Masters returns the live (neither killed nor frozen) nodes whose role is master.
func (c *Cluster) Masters(tb testing.TB) []*Server {
	tb.Helper()
	var out []*Server
	for _, n := range c.live() {
		role, err := Role(n.Addr)
		if err != nil {
			tb.Fatalf("role of %s: %v", n.Addr, err)
		}
		if role == "master" {
			out = append(out, n)
		}
	}
	return out
}

// ReplicasOf returns the nodes that master lists as its replicas (frozen ones too).
func (c *Cluster) ReplicasOf(tb testing.TB, master *Server) []*Server {
	tb.Helper()
	info, err := Info(master.Addr, cmdTimeout, "replication")
	if err != nil {
		tb.Fatalf("INFO of %s: %v", master.Addr, err)
	}
	var out []*Server
	for k, v := range info {
		if !strings.HasPrefix(k, "slave") || !strings.Contains(v, "port=") {
			continue
		}
		for _, f := range strings.Split(v, ",") {
			port, ok := strings.CutPrefix(f, "port=")
			if !ok {
				continue
			}
			for _, n := range c.Nodes {
				if strconv.Itoa(n.Port) == port {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// MasterOf returns the master that serves key, as the first live node sees the slot
// map.
func (c *Cluster) MasterOf(tb testing.TB, key string) *Server {
	tb.Helper()
	live := c.live()
	slot, err := Do(live[0].Addr, cmdTimeout, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		tb.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	v, err := Do(live[0].Addr, cmdTimeout, "CLUSTER", "SLOTS")
	if err != nil {
		tb.Fatalf("CLUSTER SLOTS: %v", err)
	}
	ranges, _ := v.([]any)
	for _, r := range ranges {
		r, _ := r.([]any)
		if len(r) < 3 {
			continue
		}
		lo, _ := r[0].(int64)
		hi, _ := r[1].(int64)
		node, _ := r[2].([]any)
		if s := slot.(int64); s < lo || s > hi || len(node) < 2 {
			continue
		}
		port, _ := node[1].(int64)
		for _, n := range live {
			if n.Port == int(port) {
				return n
			}
		}
	}
	tb.Fatalf("no live master serves the slot %v of %q:\n%v", slot, key, v)
	return nil
}

// Failover has replica take over from its master by CLUSTER FAILOVER (a manual
// failover: the master stops taking writes, the replica catches up, then they swap
// roles), and returns once the replica is a master and the cluster is ok.
func (c *Cluster) Failover(tb testing.TB, replica *Server) {
	tb.Helper()
	if _, err := Do(replica.Addr, cmdTimeout, "CLUSTER", "FAILOVER"); err != nil {
		tb.Fatalf("CLUSTER FAILOVER on %s: %v", replica.Addr, err)
	}
	c.WaitMaster(tb, replica)
}

// WaitMaster waits until n is a master serving slots and the cluster is ok.
func (c *Cluster) WaitMaster(tb testing.TB, n *Server) {
	tb.Helper()
	waitFor(tb, n.Addr+" to become a master", func() error {
		role, err := Role(n.Addr)
		if err != nil {
			return err
		}
		if role != "master" {
			return fmt.Errorf("it is a %s", role)
		}
		return nil
	}, c.Nodes...)
	c.WaitOK(tb)
}

// String lists the nodes, their roles and slots, from a live node's CLUSTER NODES.
func (c *Cluster) String() string {
	for _, n := range c.live() {
		if s, err := DoString(n.Addr, cmdTimeout, "CLUSTER", "NODES"); err == nil {
			return s
		}
	}
	return "no live node"
}
