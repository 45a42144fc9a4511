package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// ManagerOptions describes what a store cannot do, so that RunManager checks what the
// store documents instead.
type ManagerOptions struct {
	// ClientSide is set for a store that keeps the whole session in the token (a sealed
	// cookie): a copy of an old token stays valid until its sealed expiry (no server-side
	// revocation), and concurrent writes are last-writer-wins (no lost-update protection).
	ClientSide bool
}

// profile is the session value RunManager stores.
type profile struct {
	Name    string
	Cart    []string
	Counter int
	Flash   string
}

// RunManager runs the Manager behaviour over a store, through a real HTTP client with
// a cookie jar against a TLS httptest server with the default (secure) Options: lazy
// loading, the four operations of the Express model, Destroy, Renew, idle and absolute
// expiry, touch, token hygiene, cookie attributes, concurrency, races with Renew and
// Destroy, late changes, writes that change nothing, Swap, Commit and the owner
// operations. newStore is called once per subtest and must return a fresh, empty store.
//
// The Managers of the suite run on a clock of their own (Options.Now), which the
// expiry checks move forward instead of sleeping; the store keeps real time.
func RunManager(t *testing.T, newStore func(t *testing.T) store.Store, opts ManagerOptions) {
	t.Helper()
	for _, tc := range managerTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t), opts)
		})
	}
}

var managerTests = []struct {
	name string
	fn   func(t *testing.T, st store.Store, o ManagerOptions)
}{
	{"Lazy", testLazy},
	{"NoOpWrites", testNoOpWrites},
	{"SetReadUpdateDelete", testCRUD},
	{"Destroy", testDestroy},
	{"Renew", testRenew},
	{"IdleTimeout", testIdle},
	{"Touch", testTouch},
	{"Lifetime", testLifetime},
	{"TimeoutsChanged", testTimeoutsChanged},
	{"RememberMe", testRememberMe},
	{"UnknownToken", testUnknownToken},
	{"CookieAttributes", testCookieAttributes},
	{"HeaderTransport", testHeaderTransport},
	{"ConcurrentIncrements", testConcurrentIncrements},
	{"RenewRace", testRenewRace},
	{"DestroyRace", testDestroyRace},
	{"LogoutRace", testLogoutRace},
	{"RenewAfterLogout", testRenewAfterLogout},
	{"LateChange", testLateChange},
	{"DecodeFailure", testDecodeFailure},
	{"Swap", testSwap},
	{"Commit", testCommit},
	{"Info", testInfo},
	{"Owner", testOwner},
	{"DestroyID", testDestroyID},
	{"OwnerLimit", testOwnerLimit},
	{"Events", testEvents},
}

// clock is the Manager's clock in the suite: real time plus an offset that a test
// moves forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Add(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) Skewed(d time.Duration) func() time.Time {
	return func() time.Time { return c.Now().Add(d) }
}

// gate holds requests at a point of their handler until the test releases them, so that
// a test orders events without sleeping: requests that pass ?hold=name announce
// themselves on arrived, then wait for release to close.
type gate struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

// open releases the requests held at g, and those that arrive later. It may be called
// more than once.
func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// wait waits for n requests to arrive at g, or fails the test after a generous bound:
// a hang is a failure, not a timeout of the whole run.
func (g *gate) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for i := range n {
		select {
		case <-g.arrived:
		case <-timeout:
			t.Fatalf("only %d of %d requests reached the gate within a minute", i, n)
		}
	}
}

// server is a test app: routes that use the session, behind the Manager's middleware.
type server struct {
	t      *testing.T
	name   string // the session cookie's name
	m      *typedsession.Manager[profile]
	store  *Counting
	clock  *clock
	ts     *httptest.Server
	client *http.Client
	// late is the error of the last change made after the response started.
	late atomic.Value

	mu    sync.Mutex
	gates map[string]*gate
}

// newServer starts a test app over st. o's zero Logger and Now are the suite's.
func newServer(t *testing.T, st store.Store, o typedsession.Options) *server {
	t.Helper()
	s := &server{t: t, store: &Counting{Store: st}, clock: new(clock), gates: map[string]*gate{}, name: cookieName(o)}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	if o.Now == nil {
		o.Now = s.clock.Now
	}
	m, err := typedsession.New[profile](s.store, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.m = m
	s.ts = httptest.NewTLSServer(m.Handler(s.routes()))
	t.Cleanup(s.ts.Close)
	s.client = s.newClient()
	return s
}

// gate returns the gate called name.
func (s *server) gate(name string) *gate {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.gates[name]
	if g == nil {
		g = &gate{arrived: make(chan struct{}, 1024), release: make(chan struct{})}
		s.gates[name] = g
		// A test that fails while requests are held must not leave them (and the
		// server's Close) waiting forever.
		s.t.Cleanup(g.open)
	}
	return g
}

// hold holds the request at the gate its ?hold= names, if any.
func (s *server) hold(r *http.Request) {
	if name := r.FormValue("hold"); name != "" {
		g := s.gate(name)
		g.arrived <- struct{}{}
		<-g.release
	}
}

// fail answers a failed session call. A failure the middleware reports is answered
// by the ErrorHandler whatever this writes.
func fail(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func (s *server) routes() http.Handler {
	m := s.m
	mux := http.NewServeMux()
	// update changes the session with fn, then holds the request (?hold=) between its
	// read and its write, and answers with the counter.
	update := func(fn func(p *profile, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var p profile
			err := m.Update(r.Context(), func(q *profile) error { fn(q, r); p = *q; return nil })
			if err != nil {
				fail(w, err)
				return
			}
			s.hold(r)
			fmt.Fprint(w, p.Counter)
		}
	}
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		p, err := m.Get(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /noop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /cacheable", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60") // the handler's own choice
		p, err := m.Get(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, p.Name)
	})
	mux.HandleFunc("POST /set", update(func(p *profile, r *http.Request) { p.Name = r.FormValue("name") }))
	mux.HandleFunc("POST /append", update(func(p *profile, r *http.Request) { p.Cart = append(p.Cart, r.FormValue("item")) }))
	mux.HandleFunc("POST /zero", update(func(p *profile, r *http.Request) { p.Name = "" }))
	mux.HandleFunc("POST /incr", update(func(p *profile, r *http.Request) { p.Counter++ }))
	mux.HandleFunc("POST /same", update(func(p *profile, r *http.Request) {}))
	mux.HandleFunc("POST /flash", update(func(p *profile, r *http.Request) { p.Flash = r.FormValue("msg") }))
	mux.HandleFunc("POST /put", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Put(r.Context(), profile{Name: r.FormValue("name")}); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /take", func(w http.ResponseWriter, r *http.Request) {
		s.hold(r)
		p, err := m.Swap(r.Context(), func(p *profile) error { p.Flash = ""; return nil })
		if err != nil {
			fail(w, err)
			return
		}
		io.WriteString(w, p.Flash)
	})
	mux.HandleFunc("POST /commit", func(w http.ResponseWriter, r *http.Request) {
		// Changes the session, commits, and on failure answers with ?status=.
		if err := m.Update(r.Context(), func(p *profile) error { p.Name = r.FormValue("name"); return nil }); err != nil {
			fail(w, err)
			return
		}
		s.hold(r)
		if err := m.Commit(r.Context()); err != nil {
			code, _ := strconv.Atoi(r.FormValue("status"))
			w.WriteHeader(code)
			fmt.Fprint(w, "handler: ", err)
			return
		}
		io.WriteString(w, "committed")
	})
	mux.HandleFunc("POST /remember", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RememberMe(r.Context(), r.FormValue("on") == "1"); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		// ?hold= loads the session and holds it before renewing.
		if _, err := m.Get(r.Context()); err != nil {
			fail(w, err)
			return
		}
		s.hold(r)
		if err := m.Renew(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		err := m.Update(r.Context(), func(p *profile) error { p.Name = r.FormValue("name"); return nil })
		if err == nil {
			err = m.SetOwner(r.Context(), r.FormValue("owner"))
		}
		if err != nil {
			fail(w, err)
			return
		}
		s.hold(r) // before the login is stored
	})
	mux.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		info, ok, err := m.Info(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		json.NewEncoder(w).Encode(struct {
			Info typedsession.SessionInfo
			OK   bool
		}{info, ok})
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		var list []typedsession.SessionInfo
		for info, err := range m.Sessions(r.Context(), r.FormValue("owner")) {
			if err != nil {
				fail(w, err)
				return
			}
			list = append(list, info)
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("POST /others", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.DestroyOthers(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("POST /everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.DestroyOwner(r.Context(), r.FormValue("owner"))
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("POST /destroyid", func(w http.ResponseWriter, r *http.Request) {
		ok, err := m.DestroyID(r.Context(), r.FormValue("owner"), r.FormValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprint(w, ok)
	})
	mux.HandleFunc("POST /late", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted) // the response starts before the change
		err := m.Update(r.Context(), func(p *profile) error { p.Name = r.FormValue("name"); return nil })
		if err != nil {
			s.late.Store(err)
		} else {
			s.late.Store(errors.New("<nil>"))
		}
	})
	return mux
}

// newClient returns a client with its own cookie jar.
func (s *server) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *s.ts.Client()
	c.Jar = jar
	return &c
}

// do sends a request and returns the response with its body read.
func (s *server) do(c *http.Client, method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path+"?"+form.Encode(), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, string(body)
}

// must sends a request with the server's client and fails the test unless it gets a
// 2xx response.
func (s *server) must(method, path string, form url.Values) (*http.Response, string) {
	s.t.Helper()
	resp, body := s.do(s.client, method, path, form, nil)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: status %d, body %q", method, path, resp.StatusCode, body)
	}
	return resp, body
}

// profile returns the session value as the client sees it.
func (s *server) profile(c *http.Client, cookie *http.Cookie) profile {
	s.t.Helper()
	resp, body := s.do(c, "GET", "/get", nil, cookie)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /get: status %d, body %q", resp.StatusCode, body)
	}
	var p profile
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		s.t.Fatalf("GET /get: %v in %q", err, body)
	}
	return p
}

// cookie returns the session cookie in the client's jar, or nil.
func (s *server) cookie(c *http.Client) *http.Cookie {
	u, _ := url.Parse(s.ts.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == s.name {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	return nil
}

// sessionCookie returns the session cookie a response set or cleared, or nil: a cookie
// with the name of the default Options' session cookie, or the plain name the suite's
// other servers use.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == defaultName || c.Name == "session" {
			return c
		}
	}
	return nil
}

// defaultName is the name of the session cookie with the default Options, as documented
// on Options.CookieName (OWASP ASVS 5.0, V3.3.1).
const defaultName = "__Host-session"

// cookieName returns the name of the session cookie of a Manager with o, by the rules
// Options.CookieName documents.
func cookieName(o typedsession.Options) string {
	switch {
	case o.CookieName != "":
		return o.CookieName
	case o.Insecure:
		return "session"
	case o.Domain == "" && (o.Path == "" || o.Path == "/"):
		return defaultName
	}
	return "__Secure-session"
}

// expiry returns the stored Expiry of the session held by cookie.
func (s *server) expiry(c *http.Cookie) time.Time {
	s.t.Helper()
	rec, found, err := s.store.Load(s.t.Context(), c.Value)
	if err != nil || !found {
		s.t.Fatalf("store.Load: found %v, err %v; want the session", found, err)
	}
	return rec.Expiry
}

// wantDead checks that the token in c no longer gives the session's data: the store
// has nothing under it, or a data-less marker.
func (s *server) wantDead(c *http.Cookie, what string) {
	s.t.Helper()
	rec, found, err := s.store.Load(s.t.Context(), c.Value)
	switch {
	case err != nil:
		s.t.Errorf("store.Load(%s) = %v; want no error", what, err)
	case found && (rec.Ended == store.NotEnded || len(rec.Data) != 0):
		s.t.Errorf("store.Load(%s) = %+v; want nothing, or a marker without data", what, rec)
	}
}
