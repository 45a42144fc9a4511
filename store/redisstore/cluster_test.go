package redisstore_test

import (
	"bytes"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// freePort returns a loopback port that is free, and whose cluster bus port (port+10000)
// is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(30000)
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port
	}
	t.Fatal("no free loopback port pair")
	return 0
}

// redisServer is a redis-server process the test started.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	out  *bytes.Buffer
}

// startRedis starts redis-server on a free loopback port with args, waits until it
// answers, and kills it (by its process) when the test ends. It ends the test through
// testenv.Unavailable when redis-server is not installed.
func startRedis(t testing.TB, dir string, args ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis-server", err)
	}
	port := freePort(t)
	all := append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
	}, args...)
	for i, a := range all {
		all[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
	}
	s := &redisServer{addr: "127.0.0.1:" + strconv.Itoa(port), out: new(bytes.Buffer)}
	s.cmd = exec.Command(bin, all...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v\n%s", s.addr, err, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server by its process and waits for it.
func (s *redisServer) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// startCluster starts a Redis Cluster of three masters on loopback and returns their
// addresses once the cluster is ok.
func startCluster(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	addrs := make([]string, 3)
	for i := range addrs {
		s := startRedis(t, dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes-{port}.conf"))
		addrs[i] = s.addr
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		testenv.Unavailable(t, "redis-cli", err)
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the whole cluster before a client can rely on its slot map.
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range addrs {
		for {
			info, _ := exec.Command(cli, "-u", "redis://"+addr, "cluster", "info").Output()
			if bytes.Contains(info, []byte("cluster_state:ok")) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster at %s not ok:\n%s", addr, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

// TestCluster runs the suites, the Redis-specific checks and the owner index on a Redis
// Cluster of three masters, where a session and its owner's set live on different nodes
// (so a command for both in one script would be refused with CROSSSLOT).
func TestCluster(t *testing.T) {
	t.Parallel()
	addrs := startCluster(t)
	c := dial(t, rueidis.ClientOption{InitAddress: addrs})
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
