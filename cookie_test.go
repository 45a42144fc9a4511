package typedsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

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
		{SameSite: http.SameSiteNoneMode, Partitioned: true},
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
			{newToken(), store.Record{RememberMe: true, Expiry: exp}},
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
	if w := do("/", token); w.Code != http.StatusConflict || w.Body.String() == "Ada" {
		t.Errorf("after logout the token gives status %d, %q; want 409: the session ended", w.Code, w.Body)
	}
}
