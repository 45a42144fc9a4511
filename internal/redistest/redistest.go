// Package redistest starts redis-server processes (masters, replicas, Sentinels and
// Cluster nodes) on free loopback ports for tests and benchmarks, and stops each by its
// process when the test ends. The binaries come from PATH; when redis-server is not
// installed, the test ends through testenv.Unavailable (a skip on a developer's machine,
// a failure under CI).
//
// Every wait polls with a bounded deadline: a server that does not come up, sync or fail
// over in time fails the test with what it printed, never hangs it.
package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/internal/testenv"
)

// Timeouts of the helpers: a command to one server, and the longest wait for a state
// (started, synced, failed over).
const (
	cmdTimeout  = 2 * time.Second
	waitTimeout = 30 * time.Second
	pollEvery   = 20 * time.Millisecond
)

// FreePort returns a loopback port that is free, and whose cluster bus port (port+10000)
// is free too.
func FreePort(tb testing.TB) int {
	tb.Helper()
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
	tb.Fatal("no free loopback port pair")
	return 0
}

// Server is a redis-server process the test started.
type Server struct {
	Addr string // 127.0.0.1:Port
	Port int
	Dir  string // its working directory

	cmd    *exec.Cmd
	out    *buffer
	exited chan struct{} // closed when the process has exited

	mu     sync.Mutex
	frozen bool
	killed bool
}

// buffer is a bytes.Buffer safe for the process's writes and the test's reads.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start starts redis-server on a free loopback port with no persistence, in dir (a new
// temporary directory if dir is ""), with args appended; "{port}" in an argument is
// replaced by the port. It returns once the server accepts connections, and kills it
// when the test ends (printing its output if the test failed).
func Start(tb testing.TB, dir string, args ...string) *Server {
	tb.Helper()
	return start(tb, dir, nil, append([]string{"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"}, args...)...)
}

// start starts redis-server, first with the configuration file conf if it is not nil
// (written to dir with "{port}" replaced), then the arguments. A port FreePort found
// free can be taken by another process before redis-server binds it (the tests of
// several packages start servers at once): then it starts again on another port.
func start(tb testing.TB, dir string, conf []string, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(tb, "redis-server", err)
	}
	for attempt := 1; ; attempt++ {
		d := dir
		if d == "" {
			d = tb.TempDir()
		}
		s, all := launch(tb, bin, d, conf, args)
		err := s.await()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			tb.Fatalf("redis-server %s (%s): %v\n%s", s.Addr, strings.Join(all, " "), err, tail(s.Output(), 2000))
		}
	}
}

// errPortTaken is await's error for a server that could not bind its port.
var errPortTaken = errors.New("its port was taken before it could bind it")

// launch starts redis-server on a free port, in dir, and kills it when the test ends
// (printing its output if the test failed).
func launch(tb testing.TB, bin, dir string, conf, args []string) (*Server, []string) {
	tb.Helper()
	port := FreePort(tb)
	p := strconv.Itoa(port)
	var all []string
	if conf != nil {
		file := dir + "/redis-" + p + ".conf"
		text := strings.ReplaceAll(strings.Join(conf, "\n")+"\n", "{port}", p)
		// 0600 and in dir: Sentinel rewrites its configuration file.
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			tb.Fatalf("write %s: %v", file, err)
		}
		all = append(all, file)
	}
	all = append(all, "--port", p, "--bind", "127.0.0.1", "--dir", dir)
	for _, a := range args {
		all = append(all, strings.ReplaceAll(a, "{port}", p))
	}
	s := &Server{Addr: "127.0.0.1:" + p, Port: port, Dir: dir, out: new(buffer), exited: make(chan struct{})}
	s.cmd = exec.Command(bin, all...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	dieWithTest(s.cmd)
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(func() {
		s.Kill()
		if tb.Failed() {
			tb.Logf("redis-server %s (%s):\n%s", s.Addr, strings.Join(all, " "), tail(s.out.String(), 4000))
		}
	})
	return s, all
}

// await waits until the server answers PING. It fails with errPortTaken if the
// server exited because its port (or cluster bus port) was in use, and with another
// error if it exited otherwise or did not answer within waitTimeout.
func (s *Server) await() error {
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := Do(s.Addr, cmdTimeout, "PING")
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			if strings.Contains(s.Output(), "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("it exited before answering: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not answer within %v: %w", waitTimeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Output returns what the server printed so far.
func (s *Server) Output() string { return s.out.String() }

// Kill kills the server (SIGKILL, even when it is frozen) and waits for it to exit. It
// may be called more than once.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed {
		return
	}
	s.killed = true
	s.cmd.Process.Kill()
	<-s.exited
	s.frozen = false
}

// Freeze stops the server's process (SIGSTOP): it keeps its connections and answers
// nothing, as a server that hangs, until Thaw. It returns once the process is stopped.
// A frozen server is thawed when the test ends.
func (s *Server) Freeze(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed || s.frozen {
		return
	}
	if err := stop(s.cmd.Process.Pid); err != nil {
		tb.Fatalf("freeze %s: %v", s.Addr, err)
	}
	s.frozen = true
	tb.Cleanup(s.Thaw)
}

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed || !s.frozen {
		return
	}
	cont(s.cmd.Process.Pid)
	s.frozen = false
}

// waitFor polls check until it returns nil, and fails the test with check's last error
// after waitTimeout.
func waitFor(tb testing.TB, what string, check func() error, servers ...*Server) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, s := range servers {
				fmt.Fprintf(&b, "\n%s:\n%s", s.Addr, tail(s.Output(), 2000))
			}
			tb.Fatalf("waited %v for %s: %v%s", waitTimeout, what, err, b.String())
		}
		time.Sleep(pollEvery)
	}
}
