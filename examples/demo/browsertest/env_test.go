package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// demoBin is the demo binary TestMain builds.
var demoBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "demo-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	demoBin = filepath.Join(dir, "demo")
	// The demo is a package of the main module, one directory up: build it there,
	// with the main module's go.mod, so that this module needs none of its
	// requirements.
	build := exec.Command("go", "build", "-o", demoBin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the demo: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// unavailable ends a test that cannot reach what it needs: it skips on a developer's
// machine and fails when the CI environment variable is set, so that a missing browser
// or server is never counted as a pass in CI. (A copy of internal/testenv.Unavailable,
// which a package of another module cannot import.)
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required when CI is set: %v", what, err)
	}
	t.Skipf("%s unavailable (set CI=1 to make this a failure): %v", what, err)
}

// findChromium returns the Chromium to drive: $CHROMIUM, or chromium on the PATH.
func findChromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	var errs []string
	for _, name := range []string{"chromium", "chromium-browser"} {
		p, err := exec.LookPath(name)
		if err == nil {
			return p
		}
		errs = append(errs, err.Error())
	}
	unavailable(t, "Chromium (apt-get install chromium, or set CHROMIUM)", fmt.Errorf("%s", strings.Join(errs, "; ")))
	return ""
}

// demo is a running demo process.
type demo struct {
	URL  string
	Kind string
}

var serving = regexp.MustCompile(`demo: serving (http://127\.0\.0\.1:\d+) `)

// startDemo runs the demo over the store kind with the extra environment env, on a
// free port, and stops it when the test ends. A store the demo does not know skips
// the test; a store it cannot reach is unavailable.
func startDemo(t *testing.T, kind string, env ...string) *demo {
	t.Helper()
	cmd := exec.Command(demoBin, "-addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "STORE="+kind), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	url := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("the demo's log (STORE=%s):\n%s", kind, log.String())
		}
	})
	select {
	case u := <-url:
		return &demo{URL: u, Kind: kind}
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo (STORE=%s) did not start within 30s:\n%s", kind, log.String())
	}
	out := strings.TrimSpace(log.String())
	if strings.Contains(out, "unknown STORE") {
		t.Skipf("the demo has no STORE=%s in this tree: %s", kind, out)
	}
	unavailable(t, "the server of STORE="+kind, fmt.Errorf("the demo exited: %s", out))
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proxy is a TCP proxy on a loopback port in front of a server, which a test can cut:
// every connection closed, new ones closed at once. (A smaller internal/testenv.Proxy,
// which a package of another module cannot import.)
type proxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// newProxy starts a proxy in front of target and stops it when the test ends.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.up.Store(true)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones until Restore.
func (p *proxy) Cut() {
	p.up.Store(false)
	p.closeAll()
}

// Restore lets connections through again.
func (p *proxy) Restore() { p.up.Store(true) }

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up.Load() {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
		cancel()
		if err != nil || !p.track(s) {
			c.Close()
			if s != nil {
				s.Close()
			}
			continue
		}
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// pipe copies from src to dst until either fails, then closes both.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	src.Close()
	dst.Close()
}
