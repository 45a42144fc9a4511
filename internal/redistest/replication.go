package redistest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartReplica starts a replica of master (args appended) and returns once it has
// synced with it.
func StartReplica(tb testing.TB, master *Server, args ...string) *Server {
	tb.Helper()
	host, port := "127.0.0.1", strconv.Itoa(master.Port)
	r := Start(tb, "", append([]string{"--replicaof", host, port}, args...)...)
	WaitSynced(tb, master, r)
	return r
}

// WaitSynced waits until every replica has its link to master up and has caught up
// with master's replication offset as it was when WaitSynced was called.
func WaitSynced(tb testing.TB, master *Server, replicas ...*Server) {
	tb.Helper()
	var target int64
	waitFor(tb, "the master "+master.Addr+" to answer INFO", func() error {
		info, err := Info(master.Addr, cmdTimeout, "replication")
		if err != nil {
			return err
		}
		target, err = strconv.ParseInt(info["master_repl_offset"], 10, 64)
		return err
	}, master)
	for _, r := range replicas {
		waitFor(tb, "the replica "+r.Addr+" to sync with "+master.Addr, func() error {
			info, err := Info(r.Addr, cmdTimeout, "replication")
			if err != nil {
				return err
			}
			if info["role"] != "slave" || info["master_port"] != strconv.Itoa(master.Port) {
				return fmt.Errorf("role %s of master port %s", info["role"], info["master_port"])
			}
			if info["master_link_status"] != "up" {
				return fmt.Errorf("master_link_status %s", info["master_link_status"])
			}
			off, _ := strconv.ParseInt(info["slave_repl_offset"], 10, 64)
			if off < target {
				return fmt.Errorf("replica at offset %d, master was at %d", off, target)
			}
			return nil
		}, master, r)
	}
}

// Role returns the role of the server at addr: "master" or "slave".
func Role(addr string) (string, error) {
	info, err := Info(addr, cmdTimeout, "replication")
	if err != nil {
		return "", err
	}
	return info["role"], nil
}

// Backlog makes replication from master lag for real, once its replicas are frozen
// (Server.Freeze). A frozen replica's kernel still takes in what the master sends, up
// to its socket buffers (tens of megabytes on loopback), and the replica applies it
// when thawed, even after the master died: freezing alone loses nothing. Backlog
// appends junk to key (a key master serves) until the master holds replication data
// that it cannot send to any of its replicas, so that every write after it stays in
// the master's memory, and dies with the master. It returns how many bytes it wrote.
//
// The master's output buffer for a replica (omem in CLIENT LIST) shrinks while the
// kernel takes data; the link is full when, for every replica, it is not empty and
// has not shrunk over a few polls.
func Backlog(tb testing.TB, master *Server, key string) int {
	tb.Helper()
	const chunk = 8 << 20
	junk := strings.Repeat("x", chunk)
	written := 0
	for written < 256<<20 {
		if _, err := Do(master.Addr, waitTimeout, "APPEND", key, junk); err != nil {
			tb.Fatalf("APPEND to %s: %v", master.Addr, err)
		}
		written += chunk
		var last map[string]int
		steady := 0
		for range 20 {
			omem := replicaOmem(tb, master)
			full := len(omem) > 0
			for id, n := range omem {
				if n == 0 || last != nil && n < last[id] {
					full = false
				}
			}
			if !full {
				steady = 0
			} else if steady++; steady == 3 {
				return written
			}
			last = omem
			time.Sleep(20 * time.Millisecond)
		}
	}
	tb.Fatalf("the master %s still sends everything to its replicas after %d MiB: are they frozen?", master.Addr, written>>20)
	return 0
}

// replicaOmem returns the output buffer memory of each replica connection of master,
// by client id.
func replicaOmem(tb testing.TB, master *Server) map[string]int {
	tb.Helper()
	s, err := DoString(master.Addr, cmdTimeout, "CLIENT", "LIST", "TYPE", "replica")
	if err != nil {
		tb.Fatalf("CLIENT LIST on %s: %v", master.Addr, err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var id string
		omem := -1
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(f, "omem="); ok {
				omem, _ = strconv.Atoi(v)
			}
		}
		if id != "" && omem >= 0 {
			out[id] = omem
		}
	}
	return out
}

// WaitAcked waits until every replica of master has acknowledged all that master has
// sent it (the offset master's INFO shows for each replica is its own offset), so that
// a WAIT on any connection of master is satisfied at once until master writes again.
func WaitAcked(tb testing.TB, master *Server) {
	tb.Helper()
	waitFor(tb, "the replicas of "+master.Addr+" to acknowledge everything", func() error {
		info, err := Info(master.Addr, cmdTimeout, "replication")
		if err != nil {
			return err
		}
		off := info["master_repl_offset"]
		for k, v := range info {
			if !strings.HasPrefix(k, "slave") || !strings.Contains(v, "offset=") {
				continue
			}
			if !strings.Contains(v+",", ",offset="+off+",") {
				return fmt.Errorf("master at offset %s, %s", off, v)
			}
		}
		return nil
	}, master)
}
