package testenv

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// Timing of the outage tests. None of them is a measure of speed: the bound is how long
// a request may take before the test calls it a hang, many times the StoreTimeout.
const (
	outageStoreTimeout = time.Second      // the Manager's Options.StoreTimeout
	outageBound        = 10 * time.Second // the longest a request may take, in any state
	outageWait         = 60 * time.Second // the longest the test waits for progress
)

// OutageOptions adjusts what [Outage] accepts from a store.
type OutageOptions struct {
	// CachedReads lets a read during the outage be answered from a client-side cache:
	// with the session as it was last written, never an empty one. Writes must still
	// fail.
	CachedReads bool
}

// Outage runs the outage test of a store, once with the server cut off (mode=cut:
// connections closed and refused) and once with it stalled (mode=stall: connections
// accepted and never answered), as parallel subtests. open must return a store that
// reaches its server at addr, a [Proxy] in front of target, with the client's default
// options: what bounds each wait is the Manager's Options.StoreTimeout (one second),
// not a client setting.
//
// Users with a session counter send requests through a Manager with the default
// ErrorHandler while the server goes away under them. Every response, in every state,
// comes within a generous bound (ten seconds: a hang, not slowness, fails the test).
// During the outage every request gets the ErrorHandler's 503 with Retry-After and no
// Set-Cookie (so no session is replaced or cleared), and no request sees an empty
// session. Once the server is back, the same cookies reach the same sessions: each
// counter holds every acknowledged increment (and perhaps increments whose answer was
// lost), and counts on.
func Outage(t *testing.T, target string, open func(t *testing.T, addr string) store.Store, o OutageOptions) {
	t.Helper()
	modes := []struct {
		name   string
		outage func(*Proxy)
	}{
		{"mode=cut", (*Proxy).Cut},
		{"mode=stall", (*Proxy).Stall},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			p := NewProxy(t, target)
			st := open(t, p.Addr())
			t.Cleanup(p.Restore) // before open's cleanups, which may need the server
			newOutage(t, st, o).run(p, mode.outage)
		})
	}
}

// counter is the session value of the outage test.
type counter struct{ N int }

// outage is one run of the outage test.
type outage struct {
	t     *testing.T
	o     OutageOptions
	url   *url.URL
	down  atomic.Bool  // set once the proxy is cut or stalled
	hits  atomic.Int64 // reads answered from a cache during the outage
	worst atomic.Int64 // the longest request during the outage, in nanoseconds
	users []*outageUser

	logMu sync.Mutex
	log   bytes.Buffer // the HTTP server's error log
}

// outageUser is a browser with a session.
type outageUser struct {
	name   string
	client *http.Client
	cookie string // the value of its session cookie, from its first request

	acked  atomic.Int64 // increments answered 200
	tried  atomic.Int64 // increments sent
	failed atomic.Int64 // requests sent once the outage had begun, answered by the ErrorHandler
}

func newOutage(t *testing.T, st store.Store, o OutageOptions) *outage {
	m, err := typedsession.New[counter](st, typedsession.Options{
		Insecure:     true, // a plain-http test server
		StoreTimeout: outageStoreTimeout,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := m.Update(r.Context(), func(c *counter) error { c.N++; n = c.N; return nil }); err != nil {
			return // the middleware answers with the ErrorHandler
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		c, err := m.Get(r.Context())
		if err != nil {
			return
		}
		fmt.Fprint(w, c.N)
	})
	ts := httptest.NewUnstartedServer(m.Handler(mux))
	ot := &outage{t: t, o: o}
	ts.Config.ErrorLog = log.New(writerFunc(func(b []byte) (int, error) {
		ot.logMu.Lock()
		defer ot.logMu.Unlock()
		return ot.log.Write(b)
	}), "", 0)
	ts.Start()
	t.Cleanup(ts.Close)
	ot.url, _ = url.Parse(ts.URL)
	for i := range 3 {
		jar, _ := cookiejar.New(nil)
		ot.users = append(ot.users, &outageUser{
			name: fmt.Sprintf("user %d", i),
			// A hang ends in an error, later than the bound that the test checks.
			client: &http.Client{Jar: jar, Timeout: 3 * outageBound},
		})
	}
	return ot
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (ot *outage) run(p *Proxy, cause func(*Proxy)) {
	t := ot.t
	for _, u := range ot.users {
		if n, ok := ot.incr(u); !ok || n != 1 {
			t.Fatalf("%s: the first increment = %d, %v with the server up; want 1", u.name, n, ok)
		}
		u.cookie = ot.cookie(u)
		if u.cookie == "" {
			t.Fatalf("%s: no session cookie after the first increment", u.name)
		}
	}

	// Traffic from every user; the server goes away in the middle of it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopTraffic := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopTraffic() // also when waitFor ends the test
	for _, u := range ot.users {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ot.incr(u)
				ot.read(u)
			}
		})
	}
	ot.waitFor("every user's third increment with the server up", func(u *outageUser) bool { return u.acked.Load() >= 3 })
	cause(p)
	ot.down.Store(true)
	ot.waitFor("two failures per user during the outage", func(u *outageUser) bool { return u.failed.Load() >= 2 })
	stopTraffic()

	// Still down: each user at once, a read and a write, each the ErrorHandler's.
	for _, u := range ot.users {
		wg.Go(func() {
			before := u.failed.Load()
			_, readOK := ot.read(u)
			ot.incr(u)
			want := int64(2)
			if readOK && ot.o.CachedReads {
				want = 1
			}
			if got := u.failed.Load() - before; got != want {
				t.Errorf("%s: %d of a read and a write during the outage were answered by the ErrorHandler, want %d", u.name, got, want)
			}
		})
	}
	wg.Wait()

	p.Restore()
	ot.down.Store(false)
	for _, u := range ot.users {
		// The client's pool may hand out connections the outage broke, until it has
		// dropped them: read until the store answers.
		var n int
		ot.until(u.name+" reads its session after the outage", func() (ok bool) {
			n, ok = ot.read(u)
			return ok
		})
		if acked, tried := int(u.acked.Load()), int(u.tried.Load()); n < acked || n > tried {
			t.Errorf("%s: counter = %d after the outage; want between %d acknowledged and %d sent increments", u.name, n, acked, tried)
		}
		var got, tries int
		ot.until(u.name+" increments after the outage", func() (ok bool) {
			tries++
			got, ok = ot.incr(u)
			return ok
		})
		// A try whose answer was an error may have been saved too.
		if got < n+1 || got > n+tries {
			t.Errorf("%s: %d tries to increment a counter at %d after the outage made it %d, want %d to %d", u.name, tries, n, got, n+1, n+tries)
		}
		if c := ot.cookie(u); c != u.cookie {
			t.Errorf("%s: the session cookie is %q after the outage, want the same %q", u.name, c, u.cookie)
		}
	}
	ot.logMu.Lock()
	defer ot.logMu.Unlock()
	if strings.Contains(ot.log.String(), "panic") {
		t.Errorf("the server panicked:\n%s", ot.log.String())
	}
	t.Logf("the longest request during the outage took %v", time.Duration(ot.worst.Load()))
	if ot.o.CachedReads {
		t.Logf("%d reads during the outage were answered from the client's cache", ot.hits.Load())
	}
}

// incr sends an increment for u and returns the counter it reports.
func (ot *outage) incr(u *outageUser) (int, bool) {
	u.tried.Add(1)
	n, ok := ot.do(u, "POST", "/incr")
	if ok {
		u.acked.Add(1)
	}
	return n, ok
}

// read reads u's counter.
func (ot *outage) read(u *outageUser) (int, bool) { return ot.do(u, "GET", "/read") }

// do sends one request for u and checks what holds whatever the state of the server:
// an answer within the bound; 200 with the counter in the range that u's increments
// allow (never the 0 of an empty session), or the ErrorHandler's 503 with Retry-After;
// and no Set-Cookie but one that carries u's cookie on. It reports the counter and
// whether the request succeeded. Once the outage has begun, only a read answered from
// a cache (OutageOptions.CachedReads) may succeed.
func (ot *outage) do(u *outageUser, method, path string) (int, bool) {
	t := ot.t
	down := ot.down.Load()
	acked := u.acked.Load()
	start := time.Now()
	req, _ := http.NewRequestWithContext(t.Context(), method, ot.url.String()+path, nil)
	resp, err := u.client.Do(req)
	elapsed := time.Since(start)
	if err != nil {
		t.Errorf("%s: %s %s: %v", u.name, method, path, err)
		return 0, false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if down && int64(elapsed) > ot.worst.Load() {
		ot.worst.Store(int64(elapsed)) // only a log line: a lost race loses nothing
	}
	if elapsed > outageBound {
		t.Errorf("%s: %s %s took %v; want an answer within %v (StoreTimeout %v)", u.name, method, path, elapsed, outageBound, outageStoreTimeout)
	}
	for _, c := range resp.Cookies() {
		if c.Name != "session" {
			continue
		}
		if resp.StatusCode != http.StatusOK || u.cookie != "" && (c.Value != u.cookie || c.MaxAge < 0) {
			t.Errorf("%s: %s %s = %d with Set-Cookie %q; a session is never replaced or cleared here", u.name, method, path, resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		n, err := strconv.Atoi(string(body))
		if err != nil {
			t.Errorf("%s: %s %s = 200 %q", u.name, method, path, body)
			return 0, false
		}
		lo := int(acked)
		if method == "POST" {
			lo++
		}
		if hi := int(u.tried.Load()); n < lo || n > hi {
			t.Errorf("%s: %s %s = %d; want %d to %d (%d increments acknowledged, %d sent): a session lost or replaced", u.name, method, path, n, lo, hi, acked, hi)
		}
		if down {
			if method == "GET" && ot.o.CachedReads {
				ot.hits.Add(1)
			} else {
				t.Errorf("%s: %s %s = 200 %q during the outage; want the ErrorHandler's 503", u.name, method, path, body)
			}
		}
		return n, true
	case http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %s %s = 503 without Retry-After; want the default ErrorHandler's", u.name, method, path)
		}
		if down {
			u.failed.Add(1)
		}
		return 0, false
	default:
		t.Errorf("%s: %s %s = %d %q; want 200 or the ErrorHandler's 503", u.name, method, path, resp.StatusCode, body)
		return 0, false
	}
}

// cookie returns the value of u's session cookie.
func (ot *outage) cookie(u *outageUser) string {
	for _, c := range u.client.Jar.Cookies(ot.url) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// waitFor polls until cond holds for every user, or fails the test after outageWait.
func (ot *outage) waitFor(what string, cond func(*outageUser) bool) {
	ot.t.Helper()
	ot.until(what, func() bool {
		for _, u := range ot.users {
			if !cond(u) {
				return false
			}
		}
		return true
	})
}

// until polls f until it reports true, or fails the test after outageWait.
func (ot *outage) until(what string, f func() bool) {
	ot.t.Helper()
	deadline := time.Now().Add(outageWait)
	for !f() {
		if time.Now().After(deadline) {
			ot.t.Fatalf("waited %v for %s", outageWait, what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not ordering
	}
}
