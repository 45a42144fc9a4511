package typedsession_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/seed96b21533/typedsession"
)

type cart struct {
	Items []string
}

type user struct {
	ID   int
	Name string
}

// failing is a Store whose every call fails, as a store that is down does.
type failing struct{ store.Store }

var errDown = errors.New("store is down")

func (failing) Load(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, errDown
}

func (failing) Save(context.Context, string, uint64, store.Record) (string, error) {
	return "", errDown
}

func serve(h http.Handler, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    typedsession.Options
	}{
		{"SameSite=None without Secure", typedsession.Options{SameSite: http.SameSiteNoneMode, Insecure: true}},
		{"unknown SameSite", typedsession.Options{SameSite: 9}},
		{"bad cookie name", typedsession.Options{CookieName: "a b"}},
		{"__Host- with Domain", typedsession.Options{CookieName: "__Host-s", Domain: "example.com"}},
		{"__Host- insecure", typedsession.Options{CookieName: "__Host-s", Insecure: true}},
		{"__Secure- insecure", typedsession.Options{CookieName: "__Secure-s", Insecure: true}},
		{"negative lifetime", typedsession.Options{Lifetime: -time.Second}},
		{"negative idle", typedsession.Options{IdleTimeout: -time.Second}},
		{"touch without idle", typedsession.Options{TouchInterval: time.Second}},
		{"touch not shorter than idle", typedsession.Options{IdleTimeout: time.Second, TouchInterval: time.Second}},
		{"Set-Cookie header", typedsession.Options{Header: "set-cookie"}},
		{"path without a slash", typedsession.Options{Path: "app"}},
		{"path with a semicolon", typedsession.Options{Path: "/a;b"}},
		{"domain with a space", typedsession.Options{Domain: "exa mple.com"}},
		{"domain with an empty label", typedsession.Options{Domain: "example..com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := typedsession.New[user](newMemstore(t), tc.o)
			if err == nil || !strings.HasPrefix(err.Error(), "typedsession: ") {
				t.Errorf("New(%+v) error = %v, want a typedsession: error", tc.o, err)
			}
		})
	}
	if _, err := typedsession.New[user](newMemstore(t), typedsession.Options{}); err != nil {
		t.Errorf("New with zero Options: %v", err)
	}
}

func TestNewPanicsOnNilStore(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "typedsession: ") {
			t.Errorf("recover() = %v, want a typedsession: panic", r)
		}
	}()
	typedsession.New[user](nil, typedsession.Options{})
}

func TestGetOutsideHandlerPanics(t *testing.T) {
	m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Manager.Handler") {
			t.Errorf("recover() = %v, want a panic that names Manager.Handler", r)
		}
	}()
	m.Get(t.Context())
}

func TestStoreFailureGoesToErrorHandler(t *testing.T) {
	var logs bytes.Buffer
	var got error
	m, err := typedsession.New[user](failing{}, typedsession.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			http.Error(w, "try later", http.StatusServiceUnavailable)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The handler ignores the error, as careless handlers do: the response must still
	// not pretend there is no session.
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := m.Get(r.Context())
		fmt.Fprintf(w, "hello %q", u.Name)
	}))
	w := serve(h, &http.Cookie{Name: "session", Value: newToken()})
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "hello") {
		t.Errorf("status %d, body %q; want the ErrorHandler's 503", w.Code, w.Body)
	}
	if !errors.Is(got, errDown) {
		t.Errorf("ErrorHandler got %v, want the store's error", got)
	}
	if !strings.Contains(logs.String(), "store is down") {
		t.Errorf("log = %q, want the failure logged", logs.String())
	}

	// A failed save is reported the same way, with the default ErrorHandler: 500.
	m2, _ := typedsession.New[user](failing{}, typedsession.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h2 := m2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m2.Put(r.Context(), user{ID: 1})
		io.WriteString(w, "saved")
	}))
	if w := serve(h2, nil); w.Code != http.StatusInternalServerError || w.Body.String() == "saved" {
		t.Errorf("failed save: status %d, body %q; want 500", w.Code, w.Body)
	}
}

func TestTwoManagersInOneRequest(t *testing.T) {
	st := newMemstore(t)
	users, _ := typedsession.New[user](st, typedsession.Options{CookieName: "user"})
	carts, _ := typedsession.New[cart](st, typedsession.Options{CookieName: "cart"})
	h := users.Handler(carts.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			users.Put(r.Context(), user{ID: 7, Name: "Ada"})
			carts.Update(r.Context(), func(c *cart) error { c.Items = append(c.Items, "book"); return nil })
		}
		u, _ := users.Get(r.Context())
		c, _ := carts.Get(r.Context())
		fmt.Fprintf(w, "%d %s %v", u.ID, u.Name, c.Items)
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	if n := len(w.Result().Cookies()); n != 2 {
		t.Fatalf("%d cookies, want one per Manager", n)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if got, want := w.Body.String(), "7 Ada [book]"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestHeaderTransport(t *testing.T) {
	m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{Header: "X-Session"})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			m.Put(r.Context(), user{ID: 1, Name: "Ada"})
		case "/logout":
			m.Destroy(r.Context())
		}
		u, _ := m.Get(r.Context())
		io.WriteString(w, u.Name)
	}))
	do := func(path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.Header.Set("X-Session", token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	w := do("/login", "")
	token := w.Header().Get("X-Session")
	if token == "" || len(w.Result().Cookies()) != 0 {
		t.Fatalf("login: X-Session = %q, cookies %v; want a token in the header and no cookie", token, w.Result().Cookies())
	}
	if v := w.Header().Get("Vary"); v != "X-Session" {
		t.Errorf("Vary = %q, want X-Session", v)
	}
	if w := do("/", token); w.Body.String() != "Ada" || w.Header().Get("X-Session") != "" {
		t.Errorf("read with the token: body %q, X-Session %q; want Ada and no new token", w.Body, w.Header().Get("X-Session"))
	}
	w = do("/logout", token)
	if vs, ok := w.Header()["X-Session"]; !ok || vs[0] != "" {
		t.Errorf("logout: X-Session = %q, want present and empty", vs)
	}
	if w := do("/", token); w.Body.String() != "" {
		t.Errorf("after logout the token still gives %q", w.Body)
	}
}

func TestWithSession(t *testing.T) {
	m, _ := typedsession.New[user](failing{}, typedsession.Options{})
	ctx := m.WithSession(t.Context(), user{ID: 1, Name: "Ada"})
	if err := m.Update(ctx, func(u *user) error { u.Name = "Grace"; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, err := m.Get(ctx); err != nil || u.Name != "Grace" || u.ID != 1 {
		t.Errorf("Get = %+v, %v; want the updated in-memory session, no store call", u, err)
	}
	if err := m.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if u, _ := m.Get(ctx); u != (user{}) {
		t.Errorf("after Destroy, Get = %+v, want zero", u)
	}
}

func TestDecodeErrorHook(t *testing.T) {
	st := newMemstore(t)
	writer, _ := typedsession.New[user](st, typedsession.Options{})
	var hooked error
	reader, _ := typedsession.New[cart](st, typedsession.Options{
		Codec: strictJSON{},
		OnDecodeError: func(ctx context.Context, err error) error {
			hooked = err
			return errors.New("refused")
		},
	})
	w := serve(writer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writer.Put(r.Context(), user{ID: 1})
	})), nil)
	c := w.Result().Cookies()[0]
	w = serve(reader.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reader.Get(r.Context())
	})), c)
	if hooked == nil || w.Code != http.StatusInternalServerError {
		t.Errorf("hook got %v, status %d; want the decode error and the hook's error reported as 500", hooked, w.Code)
	}
}

// strictJSON rejects unknown fields, so a user record does not decode as a cart.
type strictJSON struct{}

func (strictJSON) Marshal(v any) ([]byte, error) { return typedsession.JSON{}.Marshal(v) }
func (strictJSON) Unmarshal(b []byte, v any) error {
	if !bytes.Contains(b, []byte(`"Items"`)) {
		return errors.New("not a cart")
	}
	return typedsession.JSON{}.Unmarshal(b, v)
}

func TestCommitBeforeFirstByte(t *testing.T) {
	m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { io.WriteString(w, "x") }},
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }},
		{"Flush", func(w http.ResponseWriter) { http.NewResponseController(w).Flush() }},
		{"nothing", func(w http.ResponseWriter) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Put(r.Context(), user{ID: 1})
				tc.write(w)
			})))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(resp.Cookies()) != 1 {
				t.Errorf("Set-Cookie missing from a response started by %s", tc.name)
			}
		})
	}
}

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   string
	}{
		{nil, ""},
		{[]string{"session=abc"}, "abc"},
		{[]string{"a=1; session=abc; b=2"}, "abc"},
		{[]string{"a=1;session=abc"}, "abc"},
		{[]string{`session="abc"`}, "abc"},
		{[]string{"xsession=abc; sessionx=def"}, ""},
		{[]string{"a=1", "session=second-line"}, "second-line"},
		{[]string{"session=first; session=second"}, "first"},
		{[]string{"session"}, ""},
		{[]string{"session="}, ""},
	} {
		h := http.Header{"Cookie": tc.header}
		if got := typedsession.CookieValue(h, "session"); got != tc.want {
			t.Errorf("cookieValue(%q) = %q, want %q", tc.header, got, tc.want)
		}
		// It agrees with net/http.
		req := &http.Request{Header: h}
		want := ""
		if c, err := req.Cookie("session"); err == nil {
			want = c.Value
		}
		if got := typedsession.CookieValue(h, "session"); got != want {
			t.Errorf("cookieValue(%q) = %q, net/http says %q", tc.header, got, want)
		}
	}
}

// TestSetCookieMatchesNetHTTP holds the hand-rendered Set-Cookie header to what
// net/http renders for the same cookie.
func TestSetCookieMatchesNetHTTP(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, o := range []typedsession.Options{
		{},
		{Insecure: true, SameSite: http.SameSiteStrictMode, Path: "/app", CookieName: "sid"},
		{Domain: "example.com", SameSite: http.SameSiteNoneMode},
		{Domain: ".sub.example.com", Path: "/a b/c~d", SameSite: http.SameSiteStrictMode},
		{Domain: "127.0.0.1", Insecure: true},
	} {
		m, err := typedsession.New[user](newMemstore(t), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			value string
			rec   store.Record
		}{
			{newToken(), store.Record{}},
			{newToken(), store.Record{Persist: true, Expiry: exp}},
			{"", store.Record{}},
			{"has space", store.Record{}},
		} {
			got, want := typedsession.SetCookie(m, tc.value, tc.rec)
			if got != want {
				// Max-Age counts down: the two renderings may straddle a second.
				got, want = typedsession.SetCookie(m, tc.value, tc.rec)
			}
			if got != want {
				t.Errorf("Set-Cookie = %q, net/http renders %q", got, want)
			}
		}
	}
}
