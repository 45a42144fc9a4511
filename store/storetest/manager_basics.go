package storetest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

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

// testNoOpWrites checks that a write that changes nothing is no change: no record and
// no cookie for a visitor without a session, no write for an existing one (except Put,
// which always writes).
func testNoOpWrites(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	for _, tc := range []struct{ path, query string }{
		{"/same", ""},
		{"/zero", ""},
		{"/put", "name="},
		{"/remember", "on=0"},
	} {
		form, _ := url.ParseQuery(tc.query)
		resp, body := s.do(s.newClient(), "POST", tc.path, form, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s?%s without a session: status %d, body %q", tc.path, tc.query, resp.StatusCode, body)
		}
		if c := sessionCookie(resp); c != nil {
			t.Errorf("POST %s?%s changed nothing of a visitor without a session, and set a cookie: %v", tc.path, tc.query, c)
		}
	}
	if n := s.store.Saves.Load(); n != 0 {
		t.Errorf("writes that changed nothing of visitors without a session made %d saves; want 0 (no record)", n)
	}

	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	saves := s.store.Saves.Load()
	for _, path := range []string{"/same", "/set"} {
		resp, _ := s.must("POST", path, url.Values{"name": {"Ada"}})
		if c := sessionCookie(resp); c != nil {
			t.Errorf("POST %s changed nothing of an existing session, and set a cookie: %v", path, c)
		}
	}
	s.must("POST", "/remember", url.Values{"on": {"0"}})
	if n := s.store.Saves.Load() - saves; n != 0 {
		t.Errorf("updates that left an existing session as it was made %d saves; want 0", n)
	}
	s.must("POST", "/put", url.Values{"name": {"Ada"}})
	if n := s.store.Saves.Load() - saves; n != 1 {
		t.Errorf("Put of the value the session holds made %d saves; want 1 (Put always writes)", n)
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
		// Documented: a copy of a sealed cookie stays valid until it expires.
		if p := s.profile(s.newClient(), old); p.Name != "Ada" {
			t.Errorf("replaying a destroyed sealed cookie gives %+v; the cookie store documents that it still opens", p)
		}
		return
	}
	// A request still bearing the old token (one the client sent before the logout
	// answered) is told the session ended; it never gets the data back, and never a
	// cookie.
	resp, body := s.do(s.newClient(), "GET", "/get", nil, old)
	if resp.StatusCode != http.StatusConflict || sessionCookie(resp) != nil {
		t.Errorf("replaying the destroyed session's cookie: status %d, body %q, Set-Cookie %v; want 409 and no cookie", resp.StatusCode, body, sessionCookie(resp))
	}
	s.wantDead(old, "the destroyed token")
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
	// Renew keeps the creation time: the absolute deadline does not move.
	if got := s.expiry(s.cookie(s.client)); got.After(expBefore.Add(time.Second)) {
		t.Errorf("Renew moved the session's expiry from %v to %v; want the absolute lifetime kept", expBefore, got)
	}
	if o.ClientSide {
		return
	}
	if resp, _ := s.do(s.newClient(), "GET", "/get", nil, old); resp.StatusCode != http.StatusConflict {
		t.Errorf("the token from before Renew: status %d; want 409 (ended), never the data", resp.StatusCode)
	}
	s.wantDead(old, "the renewed token")
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
		resp, _ := s.do(c, "GET", "/get", nil, &http.Cookie{Name: s.name, Value: value})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("cookie %q: status %d, want 200 and a fresh session", value, resp.StatusCode)
		}
		if got := sessionCookie(resp); got == nil || got.MaxAge >= 0 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("cookie %q, which refers to no session: Set-Cookie %v, Cache-Control %q; want the cookie cleared, no-store", value, got, resp.Header.Get("Cache-Control"))
		}
		resp, _ = s.do(c, "POST", "/set", url.Values{"name": {"x"}}, &http.Cookie{Name: s.name, Value: value})
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
	if c.Name != defaultName || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Errorf("cookie = %+v; want %s, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", c, defaultName)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on a response that sets a session cookie", got)
	}
	if got := resp.Header.Values("Vary"); len(got) != 1 || got[0] != "Cookie" {
		t.Errorf("Vary = %q, want [Cookie]", got)
	}
	// A page that only reads the session is private too, unless the handler says
	// otherwise; a request that never asks for it is the handler's alone.
	for _, tc := range []struct{ path, want string }{
		{"/get", "no-store"},
		{"/cacheable", "private, max-age=60"},
		{"/noop", ""},
	} {
		resp, _ := s.must("GET", tc.path, nil)
		if got := resp.Header.Get("Cache-Control"); got != tc.want || sessionCookie(resp) != nil {
			t.Errorf("GET %s with a session: Cache-Control %q, cookie %v; want %q and no cookie", tc.path, got, sessionCookie(resp), tc.want)
		}
	}
}

// testHeaderTransport checks the header transport: the token travels in a header, and
// every response that hands one out or clears it is uncacheable, as with cookies.
func testHeaderTransport(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{Header: "X-Session"})
	send := func(method, path, token string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, s.ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("X-Session", token)
		}
		resp, err := s.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := send("POST", "/set?name=Ada", "")
	token := resp.Header.Get("X-Session")
	if token == "" || len(resp.Cookies()) != 0 {
		t.Fatalf("a new session: X-Session %q, cookies %v; want a token in the header and no cookie", token, resp.Cookies())
	}
	renewal := send("POST", "/renew", token)
	for name, resp := range map[string]*http.Response{
		"a new session": resp,
		"a renewal":     renewal,
	} {
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q; want no-store on a response that hands out a token", name, got)
		}
		if got := resp.Header.Get("Vary"); got != "X-Session" {
			t.Errorf("%s: Vary = %q, want X-Session", name, got)
		}
	}
	resp = send("POST", "/destroy", renewal.Header.Get("X-Session"))
	if vs, ok := resp.Header["X-Session"]; !ok || vs[0] != "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Destroy: X-Session = %q, Cache-Control %q; want the header present and empty, and no-store", vs, resp.Header.Get("Cache-Control"))
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
