package mongostore_test

import (
	"errors"
	"fmt"
	"io"
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

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/mongostore"
)

// TestOutage puts the server behind a proxy that first stalls (accepts, answers
// nothing: a server that hangs), then is cut off (every connection closed, new ones
// refused), in the middle of HTTP traffic through a Manager with a one-second
// StoreTimeout. While the server is out of reach every request gets the
// ErrorHandler's 503 within a generous bound, never an empty session, and no
// response touches the cookie; once it is back, the same cookies find their sessions
// with every acknowledged increment, and increments go on, without a restart of
// anything.
func TestOutage(t *testing.T) {
	t.Parallel()
	for _, outage := range []string{"stall", "cut"} {
		t.Run(outage, func(t *testing.T) {
			t.Parallel()
			testOutage(t, outage)
		})
	}
}

func testOutage(t *testing.T, outage string) {
	client(t) // skips or fails if the server is down
	u, err := url.Parse(mongoURL)
	if err != nil {
		t.Fatalf("MONGO_URL %q: %v", mongoURL, err)
	}
	if u.Scheme != "mongodb" || strings.Contains(u.Host, ",") {
		t.Skipf("MONGO_URL %s: the outage test puts a proxy in front of one mongodb:// host", u.Redacted())
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr()
	if u.Path == "" {
		u.Path = "/"
	}
	q := u.Query()
	q.Del("replicaSet") // one server, the one behind the proxy
	q.Set("directConnection", "true")
	u.RawQuery = q.Encode()
	c := connect(t, u.String(), options.Client().SetConnectTimeout(2*time.Second))
	coll := collection(t, c)
	st := mustNew(t, coll, mongostore.Options{})
	if _, err := st.Setup(t.Context()); err != nil {
		t.Fatal(err)
	}

	type counter struct{ N int }
	var handled atomic.Int64
	m, err := typedsession.New[counter](st, typedsession.Options{
		Insecure:     true, // plain-http httptest server
		StoreTimeout: time.Second,
		Logger:       slog.New(slog.DiscardHandler),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled.Add(1)
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := m.Update(r.Context(), func(c *counter) error { c.N++; n = c.N; return nil }); err != nil {
			return // the middleware reports it through the ErrorHandler
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
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	srvURL, _ := url.Parse(srv.URL)

	// bound is how long a request may take while the server is out of reach: its
	// store budget is a second.
	const bound = 10 * time.Second
	type user struct {
		client       *http.Client
		cookie       string
		acked, tried atomic.Int64 // increments answered 200, and sent
		emptyReads   atomic.Int64 // reads that answered an empty session: must stay 0
	}
	down := atomic.Bool{}
	// do sends one request for u and checks what must hold whatever the state of the
	// server: 200 or the ErrorHandler's 503, no Set-Cookie on a failure, and, while
	// the server is out of reach, an answer within bound.
	do := func(u *user, method, path string) (int, bool) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		start := time.Now()
		resp, err := u.client.Do(req)
		if err != nil {
			if !errors.Is(err, t.Context().Err()) {
				t.Errorf("%s %s: %v", method, path, err)
			}
			return 0, false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); down.Load() && took > bound {
			t.Errorf("%s %s took %v with the server out of reach; want an answer within %v", method, path, took, bound)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			n, err := strconv.Atoi(string(body))
			if err != nil {
				t.Errorf("%s %s: body %q", method, path, body)
			}
			if path == "/read" && n == 0 {
				u.emptyReads.Add(1)
			}
			return n, true
		case http.StatusServiceUnavailable:
			if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("%s %s failed with Set-Cookie %q: a failure must not touch the session", method, path, sc)
			}
			return 0, false
		default:
			t.Errorf("%s %s: status %d %q, want 200 or the ErrorHandler's 503", method, path, resp.StatusCode, body)
			return 0, false
		}
	}
	// progressed is signalled each time an increment is answered, for until.
	progressed := make(chan struct{}, 1)
	incr := func(u *user) bool {
		u.tried.Add(1)
		_, ok := do(u, "POST", "/incr")
		if ok {
			u.acked.Add(1)
		}
		select {
		case progressed <- struct{}{}:
		default:
		}
		return ok
	}
	cookieOf := func(u *user) string {
		for _, c := range u.client.Jar.Cookies(srvURL) {
			if c.Name == "session" {
				return c.Value
			}
		}
		return ""
	}

	users := make([]*user, 3)
	for i := range users {
		jar, _ := cookiejar.New(nil)
		u := &user{client: &http.Client{Jar: jar, Timeout: time.Minute}}
		if !incr(u) {
			t.Fatal("first increment failed with the server up")
		}
		if u.cookie = cookieOf(u); u.cookie == "" {
			t.Fatal("no session cookie after the first increment")
		}
		users[i] = u
	}

	// until waits until cond holds for every user, checking each time an increment
	// is answered, or until deadline.
	until := func(deadline time.Time, cond func(i int, u *user) bool) {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for {
			all := true
			for i, u := range users {
				all = all && cond(i, u)
			}
			if all {
				return
			}
			select {
			case <-progressed:
			case <-timer.C:
				return
			}
		}
	}

	var once sync.Once
	start := func() {
		once.Do(func() {
			down.Store(true)
			if outage == "stall" {
				p.Stall()
			} else {
				p.Cut()
			}
		})
	}
	// The hook that starts the outage inside a claimed write, once armed.
	var armed atomic.Bool
	claimed := make(chan struct{})
	mongostore.SetHook(st, func(point string) {
		if point == "claimed" && armed.CompareAndSwap(true, false) {
			close(claimed)
			start()
		}
	})

	// Traffic from every user; the server goes out of reach in the middle of it.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, u := range users {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				incr(u)
				do(u, "GET", "/read")
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	// Each makes progress before the outage.
	until(deadline, func(_ int, u *user) bool { return u.acked.Load() >= 3 })
	before := handled.Load()
	// In claimed mode the outage begins inside a write, between its claim and the
	// write itself: the claim stays behind, and must not stop the session for good.
	// In place, there is no such point, and it begins between two requests.
	armed.Store(true)
	select {
	case <-claimed:
		t.Log("the outage began between a claim and its write")
	case <-time.After(5 * time.Second):
		armed.Store(false)
		start()
	}
	// Every user has two more requests answered during the outage, then traffic stops.
	tried := make([]int64, len(users))
	for i, u := range users {
		tried[i] = u.tried.Load()
	}
	until(deadline.Add(time.Minute), func(i int, u *user) bool { return u.tried.Load() >= tried[i]+2 })
	close(stop)
	wg.Wait()

	// Still out of reach: each request fails through the ErrorHandler (each user at
	// once, as each waits out its budget).
	mid := handled.Load()
	for _, u := range users {
		wg.Go(func() {
			if _, ok := do(u, "GET", "/read"); ok {
				t.Errorf("GET /read succeeded with the server out of reach (%s)", outage)
			}
			if incr(u) {
				t.Errorf("POST /incr succeeded with the server out of reach (%s)", outage)
			}
		})
	}
	wg.Wait()
	if got := handled.Load() - mid; got != 2*int64(len(users)) {
		t.Errorf("ErrorHandler called %d times for %d failed requests", got, 2*len(users))
	}
	if handled.Load() == before {
		t.Error("no request went through the ErrorHandler during the outage")
	}

	// Back: the same cookies find their sessions, and increments go on.
	p.Restore()
	restored := time.Now()
	down.Store(false)
	for i, u := range users {
		if got := cookieOf(u); got != u.cookie {
			t.Errorf("user %d: the session cookie changed during the outage: %q, was %q", i, got, u.cookie)
		}
		if n := u.emptyReads.Load(); n != 0 {
			t.Errorf("user %d: %d reads answered an empty session", i, n)
		}
		n, ok := 0, false
		for back := time.Now().Add(30 * time.Second); !ok && time.Now().Before(back); {
			n, ok = do(u, "GET", "/read")
		}
		if !ok {
			t.Fatalf("user %d: the session cannot be read 30 s after the server came back", i)
		}
		// An increment whose answer was lost may or may not have been saved.
		if acked, tried := int(u.acked.Load()), int(u.tried.Load()); n < acked || n > tried {
			t.Errorf("user %d: Counter = %d after the outage; want between %d acknowledged and %d sent", i, n, acked, tried)
		}
		// One more increment, tried until acknowledged: in claimed mode a write cut
		// off after its claim holds the session's version for its deadline plus the
		// claims' margin (11 s here).
		tries, ok := 0, false
		for back := time.Now().Add(30 * time.Second); !ok && time.Now().Before(back); tries++ {
			if ok = incr(u); !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
		t.Logf("user %d: an increment acknowledged %v after the server came back, at try %d", i, time.Since(restored).Round(time.Millisecond), tries)
		got, _ := do(u, "GET", "/read")
		if !ok || got < n+1 || got > n+tries {
			t.Errorf("user %d: %d tries to increment after the outage (acknowledged: %v) made Counter %d, want %d to %d", i, tries, ok, got, n+1, n+tries)
		}
		if got := cookieOf(u); got != u.cookie {
			t.Errorf("user %d: cookie = %q after the outage, want the same %q", i, got, u.cookie)
		}
	}
	t.Logf("%s: %d requests went through the ErrorHandler", outage, handled.Load())
}
