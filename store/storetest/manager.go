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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// ManagerOptions describes what a store cannot do, so that RunManager skips exactly
// those checks and says why.
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
}

// RunManager runs the Manager behaviour over a store, through a real HTTP client with
// a cookie jar against a TLS httptest server with the default (secure) Options: lazy
// loading, the four operations of the Express model, Destroy, Renew, idle and absolute
// expiry, touch, token hygiene, cookie attributes, concurrency and late changes.
// newStore is called once per subtest and must return a fresh, empty store.
func RunManager(t *testing.T, newStore func(t *testing.T) store.Store, opts ManagerOptions) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store, o ManagerOptions)
	}{
		{"Lazy", testLazy},
		{"SetReadUpdateDelete", testCRUD},
		{"Destroy", testDestroy},
		{"Renew", testRenew},
		{"IdleTimeout", testIdle},
		{"Touch", testTouch},
		{"Lifetime", testLifetime},
		{"RememberMe", testRememberMe},
		{"UnknownToken", testUnknownToken},
		{"CookieAttributes", testCookieAttributes},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"LogoutRace", testLogoutRace},
		{"RenewAfterLogout", testRenewAfterLogout},
		{"LateChange", testLateChange},
		{"DecodeFailure", testDecodeFailure},
		{"Owner", testOwner},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t), opts)
		})
	}
}

// server is a test app: routes that use the session, behind the Manager's middleware.
type server struct {
	t      *testing.T
	m      *typedsession.Manager[profile]
	store  *Counting
	ts     *httptest.Server
	client *http.Client
	// late is the error of the last change made after the response started.
	late atomic.Value
}

func newServer(t *testing.T, st store.Store, o typedsession.Options) *server {
	t.Helper()
	s := &server{t: t, store: &Counting{Store: st}}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	m, err := typedsession.New[profile](s.store, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.m = m
	mux := http.NewServeMux()
	update := func(fn func(p *profile, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var p profile
			err := m.Update(r.Context(), func(q *profile) error { fn(q, r); p = *q; return nil })
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// ?wait=ms holds the request between its read and its write, so that
			// concurrent requests surely overlap.
			if ms, err := strconv.Atoi(r.FormValue("wait")); err == nil {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			fmt.Fprint(w, p.Counter)
		}
	}
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		p, err := m.Get(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(p)
	})
	mux.HandleFunc("GET /noop", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /set", update(func(p *profile, r *http.Request) { p.Name = r.FormValue("name") }))
	mux.HandleFunc("POST /append", update(func(p *profile, r *http.Request) { p.Cart = append(p.Cart, r.FormValue("item")) }))
	mux.HandleFunc("POST /zero", update(func(p *profile, r *http.Request) { p.Name = "" }))
	mux.HandleFunc("POST /incr", update(func(p *profile, r *http.Request) { p.Counter++ }))
	mux.HandleFunc("POST /remember", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RememberMe(r.Context(), r.FormValue("on") == "1"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		// ?wait=ms loads the session and holds it before renewing.
		if ms, err := strconv.Atoi(r.FormValue("wait")); err == nil {
			if _, err := m.Get(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		if err := m.Renew(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		err := m.Update(r.Context(), func(p *profile) error { p.Name = r.FormValue("name"); return nil })
		if err == nil {
			err = m.SetOwner(r.Context(), r.FormValue("owner"))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		var list []typedsession.SessionInfo
		for info, err := range m.Sessions(r.Context(), r.FormValue("owner")) {
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			list = append(list, info)
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("POST /others", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.DestroyOthers(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("POST /everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.DestroyOwner(r.Context(), r.FormValue("owner"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, n)
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
	s.ts = httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(s.ts.Close)
	s.client = s.newClient()
	return s
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

// profile returns the session value as the server's client sees it.
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
		if ck.Name == "session" {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	return nil
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

func testLazy(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	resp, _ := s.must("GET", "/noop", nil)
	if n := s.store.Total(); n != 0 {
		t.Errorf("a request that never asks for its session made %d store calls; want 0", n)
	}
	if c := sessionCookie(resp); c != nil {
		t.Errorf("a request that never asks for its session got a cookie: %v", c)
	}
	resp, _ = s.must("GET", "/get", nil)
	if c := sessionCookie(resp); c != nil {
		t.Errorf("a visitor whose session was never modified got a cookie: %v", c)
	}
	if n := s.store.Saves.Load(); n != 0 {
		t.Errorf("a visitor whose session was never modified caused %d saves; want 0", n)
	}
	s.must("POST", "/set", url.Values{"name": {"ada"}})
	before := s.store.Total()
	s.must("GET", "/noop", nil)
	if n := s.store.Total() - before; n != 0 {
		t.Errorf("with a session, a request that never asks for it made %d store calls; want 0", n)
	}
}

func testCRUD(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Fatalf("after set, Name = %q, want %q", p.Name, "Ada")
	}
	s.must("POST", "/append", url.Values{"item": {"book"}})
	s.must("POST", "/append", url.Values{"item": {"pen"}})
	p := s.profile(s.client, nil)
	if p.Name != "Ada" || len(p.Cart) != 2 || p.Cart[0] != "book" || p.Cart[1] != "pen" {
		t.Fatalf("after two appends, profile = %+v, want Name Ada and Cart [book pen]", p)
	}
	s.must("POST", "/zero", nil)
	if p := s.profile(s.client, nil); p.Name != "" || len(p.Cart) != 2 {
		t.Fatalf("after deleting Name, profile = %+v, want empty Name and the cart kept", p)
	}
	// Another client has its own session.
	if p := s.profile(s.newClient(), nil); p.Name != "" || len(p.Cart) != 0 {
		t.Errorf("a second client sees %+v, want an empty session", p)
	}
}

func testDestroy(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	old := s.cookie(s.client)
	if old == nil {
		t.Fatal("no session cookie after set")
	}
	resp, _ := s.must("POST", "/destroy", nil)
	c := sessionCookie(resp)
	if c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("Destroy: Set-Cookie = %v, want the cookie expired (Max-Age<0, empty value)", c)
	}
	if p := s.profile(s.client, nil); p.Name != "" {
		t.Errorf("after Destroy, Name = %q, want a fresh empty session", p.Name)
	}
	if o.ClientSide {
		return // documented: a copy of a sealed cookie stays valid until it expires
	}
	if p := s.profile(s.newClient(), old); p.Name != "" {
		t.Errorf("replaying the destroyed session's cookie gives Name %q, want a fresh empty session", p.Name)
	}
	if _, found, err := s.store.Load(t.Context(), old.Value); err != nil || found {
		t.Errorf("store.Load(destroyed token) = found %v, err %v; want not found: the record must be gone", found, err)
	}
}

func testRenew(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	old := s.cookie(s.client)
	expBefore := s.expiry(old)
	resp, _ := s.must("POST", "/renew", nil)
	c := sessionCookie(resp)
	if c == nil || c.Value == "" || c.Value == old.Value {
		t.Fatalf("Renew: Set-Cookie = %v, want a new token", c)
	}
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Errorf("after Renew, Name = %q, want the data kept (%q)", p.Name, "Ada")
	}
	if o.ClientSide {
		return
	}
	if p := s.profile(s.newClient(), old); p.Name != "" {
		t.Errorf("the token from before Renew still gives Name %q; want it dead", p.Name)
	}
	// Renew keeps the creation time: the absolute deadline does not move.
	if got := s.expiry(s.cookie(s.client)); got.After(expBefore.Add(time.Second)) {
		t.Errorf("Renew moved the session's expiry from %v to %v; want the absolute lifetime kept", expBefore, got)
	}
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

func testIdle(t *testing.T, st store.Store, _ ManagerOptions) {
	const idle = 600 * time.Millisecond
	s := newServer(t, st, typedsession.Options{IdleTimeout: idle, TouchInterval: 100 * time.Millisecond})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	// Activity keeps the session alive past the idle timeout.
	deadline := time.Now().Add(2 * idle)
	for time.Now().Before(deadline) {
		if p := s.profile(s.client, nil); p.Name != "Ada" {
			t.Fatalf("an active session ended: Name = %q", p.Name)
		}
		time.Sleep(idle / 4)
	}
	// Idleness ends it, even if the store has not cleaned it up yet.
	c := s.cookie(s.client)
	time.Sleep(idle + 200*time.Millisecond)
	if p := s.profile(s.newClient(), c); p.Name != "" {
		t.Errorf("after %v idle, Name = %q; want the session ended", idle+200*time.Millisecond, p.Name)
	}
}

func testTouch(t *testing.T, st store.Store, o ManagerOptions) {
	const interval = 300 * time.Millisecond
	s := newServer(t, st, typedsession.Options{IdleTimeout: 10 * time.Second, TouchInterval: interval})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	saves := s.store.Saves.Load()
	for range 5 {
		s.profile(s.client, nil)
	}
	if n := s.store.Touches.Load(); n != 0 {
		t.Errorf("%d touches for reads within the touch interval of the last write; want 0", n)
	}
	time.Sleep(interval + 50*time.Millisecond)
	for range 5 {
		s.profile(s.client, nil)
	}
	if n := s.store.Touches.Load(); n != 1 {
		t.Errorf("%d touches for 5 reads after the touch interval; want exactly 1", n)
	}
	if n := s.store.Saves.Load() - saves; n != 0 {
		t.Errorf("reads of an unchanged session made %d saves; want 0 (touch only)", n)
	}
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Errorf("after touch, Name = %q, want %q", p.Name, "Ada")
	}
}

func testLifetime(t *testing.T, st store.Store, _ ManagerOptions) {
	const life = 700 * time.Millisecond
	s := newServer(t, st, typedsession.Options{Lifetime: life})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := s.cookie(s.client)
	deadline := time.Now().Add(life + 300*time.Millisecond)
	for time.Now().Before(deadline) {
		s.must("POST", "/incr", nil) // activity does not extend the absolute lifetime
		time.Sleep(life / 5)
	}
	if p := s.profile(s.newClient(), c); p.Name != "" {
		t.Errorf("past the absolute lifetime, despite activity, Name = %q; want the session ended", p.Name)
	}
}

func testRememberMe(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	resp, _ := s.must("POST", "/set", url.Values{"name": {"Ada"}})
	if c := sessionCookie(resp); c == nil || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("default cookie = %v, want a browser-session cookie (no Max-Age, no Expires)", c)
	}
	resp, _ = s.must("POST", "/remember", url.Values{"on": {"1"}})
	if c := sessionCookie(resp); c == nil || c.MaxAge <= 0 {
		t.Errorf("after RememberMe(true), cookie = %v, want a persistent cookie (Max-Age > 0)", c)
	}
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Errorf("after RememberMe, Name = %q, want %q", p.Name, "Ada")
	}
}

func testUnknownToken(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	for _, value := range []string{
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // well formed, never issued
		"not a token",
		"%%%",
		"A",
	} {
		c := s.newClient()
		resp, _ := s.do(c, "GET", "/get", nil, &http.Cookie{Name: "session", Value: value})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("cookie %q: status %d, want 200 and a fresh session", value, resp.StatusCode)
		}
		resp, _ = s.do(c, "POST", "/set", url.Values{"name": {"x"}}, &http.Cookie{Name: "session", Value: value})
		got := sessionCookie(resp)
		if got == nil || got.Value == value {
			t.Errorf("cookie %q: Set-Cookie = %v; want a new token, the client's never adopted", value, got)
		}
	}
}

func testCookieAttributes(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	resp, _ := s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := sessionCookie(resp)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie = %+v; want HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", c)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on a response that sets a session cookie", got)
	}
	if got := resp.Header.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
		t.Errorf("Vary = %q, want [Cookie]", got)
	}
}

func testConcurrentIncrements(t *testing.T, st store.Store, o ManagerOptions) {
	if o.ClientSide {
		t.Skip("a client-side store is last-writer-wins: no lost-update protection (ManagerOptions.ClientSide)")
	}
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			resp, body := s.do(s.client, "POST", "/incr", url.Values{"wait": {"5"}}, nil)
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent increment failed: %s", e)
	}
	if p := s.profile(s.client, nil); p.Counter != n {
		t.Errorf("after %d concurrent increments, Counter = %d; want %d (no lost updates)", n, p.Counter, n)
	}
}

func testLogoutRace(t *testing.T, st store.Store, o ManagerOptions) {
	if o.ClientSide {
		t.Skip("a client-side store cannot revoke a token server-side (ManagerOptions.ClientSide)")
	}
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := s.cookie(s.client)
	// Writers read the session, then wait; the logout lands while they wait; their
	// writes come after it and must not bring the session back.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { s.do(s.newClient(), "POST", "/incr", url.Values{"wait": {"600"}}, c) })
	}
	time.Sleep(300 * time.Millisecond)
	s.do(s.newClient(), "POST", "/destroy", nil, c)
	wg.Wait()
	for range 3 {
		if p := s.profile(s.newClient(), c); p.Name != "" || p.Counter != 0 {
			t.Fatalf("after logout raced with writes, the old cookie gives %+v; want the session gone for good", p)
		}
	}
}

func testLateChange(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	// Without a session, a change after the response started needs a new cookie: reported.
	resp, _ := s.do(s.client, "POST", "/late", url.Values{"name": {"x"}}, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /late: status %d", resp.StatusCode)
	}
	if err, _ := s.late.Load().(error); !errors.Is(err, typedsession.ErrResponseStarted) {
		t.Errorf("a change to a new session after the response started: err = %v, want ErrResponseStarted", err)
	}
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	s.do(s.client, "POST", "/late", url.Values{"name": {"Grace"}}, nil)
	err, _ := s.late.Load().(error)
	if o.ClientSide {
		if !errors.Is(err, typedsession.ErrResponseStarted) {
			t.Errorf("a late change on a client-side store: err = %v, want ErrResponseStarted", err)
		}
		return
	}
	if err == nil || err.Error() != "<nil>" {
		t.Errorf("a late change to an existing session: err = %v, want it saved", err)
	}
	if p := s.profile(s.client, nil); p.Name != "Grace" {
		t.Errorf("a late change to an existing session was lost: Name = %q, want %q", p.Name, "Grace")
	}
}

// changed is a profile whose Name changed type: old records no longer decode.
type changed struct {
	Name    int
	Counter int
}

func testDecodeFailure(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := s.cookie(s.client)

	m2, err := typedsession.New[changed](st, typedsession.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	h := m2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := m2.Get(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := m2.Update(r.Context(), func(v *changed) error { v.Counter++; return nil }); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, strconv.Itoa(v.Counter))
	}))
	for i := range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(c)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("request %d on a record that no longer decodes: status %d (%s); want a fresh session, not an error", i, w.Code, w.Body)
		}
		if got, want := w.Body.String(), strconv.Itoa(i); got != want {
			t.Errorf("request %d: Counter was %s, want %s (a fresh session, then the stored increments)", i, got, want)
		}
		if nc := sessionCookie(w.Result()); nc != nil {
			c = nc
		}
	}
}

func (s *server) sessions(c *http.Client, owner string) []typedsession.SessionInfo {
	s.t.Helper()
	resp, body := s.do(c, "GET", "/sessions", url.Values{"owner": {owner}}, nil)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /sessions: status %d, body %q", resp.StatusCode, body)
	}
	var list []typedsession.SessionInfo
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		s.t.Fatalf("GET /sessions: %v in %q", err, body)
	}
	return list
}

func testOwner(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	if _, ok := st.(store.OwnerStore); !ok || o.ClientSide {
		resp, body := s.do(s.client, "POST", "/everywhere", url.Values{"owner": {"u1"}}, nil)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "unsupported") {
			t.Errorf("DestroyOwner on a store without an owner index: status %d, body %q; want an error wrapping errors.ErrUnsupported", resp.StatusCode, body)
		}
		return
	}
	a, b, c := s.newClient(), s.newClient(), s.newClient()
	// An anonymous session becomes an owned one at login: the token is renewed.
	s.do(a, "POST", "/set", url.Values{"name": {"anon"}}, nil)
	anon := s.cookie(a)
	for _, l := range []struct {
		c     *http.Client
		owner string
	}{{a, "u1"}, {b, "u1"}, {c, "u2"}} {
		if resp, body := s.do(l.c, "POST", "/login", url.Values{"name": {l.owner}, "owner": {l.owner}}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("login: status %d, body %q", resp.StatusCode, body)
		}
	}
	if got := s.cookie(a); got == nil || got.Value == anon.Value {
		t.Errorf("setting the owner kept the anonymous token; want it renewed")
	}
	list := s.sessions(a, "u1")
	if len(list) != 2 {
		t.Fatalf("Sessions(u1) listed %d sessions, want 2: %+v", len(list), list)
	}
	current := 0
	for _, info := range list {
		if info.Current {
			current++
		}
		if info.ID == "" || info.Created.IsZero() || !info.Expiry.After(time.Now()) {
			t.Errorf("SessionInfo %+v: want an ID, a creation time and a future expiry", info)
		}
		if strings.Contains(s.cookie(a).Value, info.ID) || strings.Contains(s.cookie(b).Value, info.ID) {
			t.Errorf("SessionInfo.ID %q gives away a token", info.ID)
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked Current, want 1", current)
	}
	// Renew keeps the owner.
	s.do(b, "POST", "/renew", nil, nil)
	if n := len(s.sessions(b, "u1")); n != 2 {
		t.Errorf("after Renew, Sessions(u1) lists %d, want 2 (the owner kept)", n)
	}
	// Log out all other sessions.
	if resp, body := s.do(a, "POST", "/others", nil, nil); resp.StatusCode != http.StatusOK || body != "1" {
		t.Errorf("DestroyOthers: status %d, body %q; want 1 session ended", resp.StatusCode, body)
	}
	if p := s.profile(b, nil); p.Name != "" {
		t.Errorf("after DestroyOthers, the other session still gives %+v", p)
	}
	if p := s.profile(a, nil); p.Name != "u1" {
		t.Errorf("DestroyOthers ended the current session: %+v", p)
	}
	// Log out everywhere, from a request that is not one of the owner's sessions.
	old := s.cookie(a)
	if resp, body := s.do(c, "POST", "/everywhere", url.Values{"owner": {"u1"}}, nil); resp.StatusCode != http.StatusOK || body != "1" {
		t.Errorf("DestroyOwner(u1): status %d, body %q; want 1 session ended", resp.StatusCode, body)
	}
	s.do(s.newClient(), "POST", "/incr", nil, old) // a late write must not bring it back
	if p := s.profile(s.newClient(), old); p.Name != "" || p.Counter != 0 {
		t.Errorf("after DestroyOwner, the owner's cookie still gives %+v", p)
	}
	if n := len(s.sessions(c, "u1")); n != 0 {
		t.Errorf("after DestroyOwner, Sessions(u1) lists %d, want 0", n)
	}
	if p := s.profile(c, nil); p.Name != "u2" {
		t.Errorf("DestroyOwner(u1) touched another owner's session: %+v", p)
	}
	// Destroy removes a session from its owner's list.
	s.do(c, "POST", "/destroy", nil, nil)
	if n := len(s.sessions(c, "u2")); n != 0 {
		t.Errorf("after Destroy, Sessions(u2) lists %d, want 0", n)
	}
}

func testRenewAfterLogout(t *testing.T, st store.Store, o ManagerOptions) {
	if o.ClientSide {
		t.Skip("a client-side store cannot revoke a token server-side (ManagerOptions.ClientSide)")
	}
	s := newServer(t, st, typedsession.Options{})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := s.cookie(s.client)
	// A request reads the session and renews it after another request logged out: the
	// renewal must not copy the ended session to a new token.
	renewer := s.newClient()
	done := make(chan *http.Response, 1)
	go func() {
		resp, _ := s.do(renewer, "POST", "/renew", url.Values{"wait": {"400"}}, c)
		done <- resp
	}()
	time.Sleep(200 * time.Millisecond)
	s.do(s.newClient(), "POST", "/destroy", nil, c)
	resp := <-done
	if nc := sessionCookie(resp); nc != nil && nc.Value != "" {
		if p := s.profile(s.newClient(), nc); p.Name != "" {
			t.Errorf("a Renew that lost a race with Destroy handed out a new token holding %+v; want the session gone", p)
		}
	}
	if p := s.profile(s.newClient(), c); p.Name != "" {
		t.Errorf("after Destroy, the old cookie gives %+v", p)
	}
}
