package compat

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
)

// TestServeMux routes with Go 1.22 ServeMux patterns (a method, a wildcard, a
// trailing wildcard, {$}) with the session middleware around the mux and around
// each route: the handler sees its PathValue and Pattern and its session change is
// saved; the mux's own 405 (with Allow) and 404 pass through and set no cookie.
func TestServeMux(t *testing.T) {
	routes := func(m *typedsession.Manager[state], wrap func(http.Handler) http.Handler) *http.ServeMux {
		mux := http.NewServeMux()
		mux.Handle("GET /seed", wrap(seedHandler(m)))
		mux.Handle("GET /state", wrap(stateHandler(m)))
		item := func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id") + r.PathValue("path")
			if err := note(m, r, id); err != nil {
				return
			}
			w.Write([]byte(r.Pattern + " " + id))
		}
		mux.Handle("GET /items/{id}", wrap(http.HandlerFunc(item)))
		mux.Handle("GET /files/{path...}", wrap(http.HandlerFunc(item)))
		mux.Handle("GET /{$}", wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("home"))
		})))
		return mux
	}
	for _, tc := range []struct {
		name  string
		build func(m *typedsession.Manager[state]) http.Handler
	}{
		{"middleware around the mux", func(m *typedsession.Manager[state]) http.Handler {
			return m.Handler(routes(m, func(h http.Handler) http.Handler { return h }))
		}},
		{"middleware around each route", func(m *typedsession.Manager[state]) http.Handler {
			return routes(m, m.Handler)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			srv := httptest.NewServer(tc.build(m))
			t.Cleanup(srv.Close)
			client := srv.Client()
			cookie := seed(t, client, srv.URL)
			for _, r := range []struct {
				path, body, state string
			}{
				{"/items/42", "GET /items/{id} 42", "2 42"},
				{"/files/a/b/c.txt", "GET /files/{path...} a/b/c.txt", "3 a/b/c.txt"},
				{"/", "home", "3 a/b/c.txt"},
			} {
				resp, body := do(t, client, "GET", srv.URL+r.path, cookie, nil)
				if resp.StatusCode != http.StatusOK || body != r.body {
					t.Errorf("GET %s: status %d, body %q; want 200 %q", r.path, resp.StatusCode, body, r.body)
				}
				if got := stateOf(t, client, srv.URL, cookie); got != r.state {
					t.Errorf("after GET %s the session is %q; want %q", r.path, got, r.state)
				}
			}
			for _, r := range []struct {
				method, path string
				status       int
			}{
				{"DELETE", "/items/42", http.StatusMethodNotAllowed},
				{"GET", "/nowhere", http.StatusNotFound},
			} {
				resp, _ := do(t, client, r.method, srv.URL+r.path, nil, nil)
				if resp.StatusCode != r.status {
					t.Errorf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.status)
				}
				if r.status == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), "GET") {
					t.Errorf("%s %s: Allow %q, want GET in it", r.method, r.path, resp.Header.Get("Allow"))
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("%s %s sets %v; want no cookie from a request that never used its session", r.method, r.path, c)
				}
			}
		})
	}
}
