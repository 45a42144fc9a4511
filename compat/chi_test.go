package compat

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/seed96b21533/typedsession"
)

// placements installs a chi middleware inside the session middleware (after it, so
// it wraps the session's writer) and outside it (before it).
var placements = []struct {
	name string
	use  func(r chi.Router, m *typedsession.Manager[state], mw func(http.Handler) http.Handler)
}{
	{"inside", func(r chi.Router, m *typedsession.Manager[state], mw func(http.Handler) http.Handler) {
		r.Use(m.Handler, mw)
	}},
	{"outside", func(r chi.Router, m *typedsession.Manager[state], mw func(http.Handler) http.Handler) {
		r.Use(mw, m.Handler)
	}},
}

// chiServer serves /seed, /state and /do (h) under the session middleware and mw,
// placed as place says. It counts the panics chi's Recoverer reports.
func chiServer(t *testing.T, m *typedsession.Manager[state], place func(chi.Router, *typedsession.Manager[state], func(http.Handler) http.Handler), mw func(http.Handler) http.Handler, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var panics atomic.Int64
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, middleware.WithLogEntry(r, panicLog{&panics}))
		})
	})
	place(r, m, mw)
	r.Get("/seed", seedHandler(m))
	r.Get("/state", stateHandler(m))
	r.Get("/do", h)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, &panics
}

// panicLog is the log entry chi's Recoverer reports a recovered panic to, instead of
// printing its stack: it counts them.
type panicLog struct{ panics *atomic.Int64 }

func (panicLog) Write(int, int, http.Header, time.Duration, any) {}
func (l panicLog) Panic(any, []byte)                             { l.panics.Add(1) }

// TestCompress streams a compressible body, through Write and through io.Copy (the
// writer's ReadFrom), from a handler that starts a session: the response is gzip that
// decodes to the body (ReadFrom did not go around the compressor), it sets the new
// session's cookie and varies on both Accept-Encoding and Cookie, and the session is
// saved.
func TestCompress(t *testing.T) {
	body := strings.Repeat("typedsession compresses like any handler. ", 200)
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := newManager(t)
			srv, _ := chiServer(t, m, p.use, middleware.Compress(5), func(w http.ResponseWriter, r *http.Request) {
				if err := note(m, r, "compressed"); err != nil {
					return
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				io.WriteString(w, body[:100])
				io.Copy(w, struct{ io.Reader }{strings.NewReader(body[100:])}) // no WriteTo: ReadFrom it is
			})
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			t.Cleanup(client.CloseIdleConnections)
			resp, raw := do(t, client, "GET", srv.URL+"/do", nil, header("Accept-Encoding", "gzip"))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("status %d, Content-Encoding %q; want 200 gzip", resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || string(got) != body {
				t.Errorf("decompressed body: %d bytes, %v; want the %d bytes written", len(got), err, len(body))
			}
			vary := strings.Join(resp.Header.Values("Vary"), ", ")
			if !strings.Contains(vary, "Accept-Encoding") || !strings.Contains(vary, "Cookie") {
				t.Errorf("Vary %q; want Accept-Encoding and Cookie", vary)
			}
			cookie := sessionCookie(resp)
			if cookie == nil {
				t.Fatalf("the response sets %q; want the new session's cookie", resp.Header.Values("Set-Cookie"))
			}
			if got := stateOf(t, client, srv.URL, cookie); got != "1 compressed" {
				t.Errorf("the session is %q; want %q", got, "1 compressed")
			}
		})
	}
}

// TestTimeout runs chi's Timeout around a handler that changes the session and then
// waits for its context, as Timeout requires: the 504 saves nothing and sets no
// cookie, whichever side of the session middleware Timeout is on. A handler that
// finishes in time is saved as usual.
func TestTimeout(t *testing.T) {
	for _, p := range placements {
		for _, tc := range []struct {
			name    string
			seeded  bool
			timeout time.Duration
			status  int
			want    string // the session afterwards, for a seeded client
		}{
			{"in time", true, time.Minute, http.StatusOK, "2 in time"},
			{"timed out, existing session", true, 20 * time.Millisecond, http.StatusGatewayTimeout, "1 seeded"},
			{"timed out, new session", false, 20 * time.Millisecond, http.StatusGatewayTimeout, ""},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				m := newManager(t)
				srv, _ := chiServer(t, m, p.use, middleware.Timeout(tc.timeout), func(w http.ResponseWriter, r *http.Request) {
					if tc.status == http.StatusOK {
						note(m, r, "in time")
						io.WriteString(w, "done")
						return
					}
					note(m, r, "timed out")
					select {
					case <-r.Context().Done():
					case <-time.After(10 * time.Second): // a bound, not an ordering: the test fails
					}
				})
				client := srv.Client()
				var cookie *http.Cookie
				if tc.seeded {
					cookie = seed(t, client, srv.URL)
				}
				resp, _ := do(t, client, "GET", srv.URL+"/do", cookie, nil)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("the response sets %v; want no cookie (a new token only for a new session, and a 504 saves nothing)", c)
				}
				if tc.seeded {
					if got := stateOf(t, client, srv.URL, cookie); got != tc.want {
						t.Errorf("the session is %q; want %q", got, tc.want)
					}
				}
			})
		}
	}
}

// TestRecoverer runs chi's Recoverer around a handler that changes the session and
// then panics: Recoverer answers 500, and the change is not saved and sets no cookie,
// whichever side of the session middleware Recoverer is on; a Destroy before the panic
// stands, and its cookie is expired.
func TestRecoverer(t *testing.T) {
	for _, p := range placements {
		for _, tc := range []struct {
			name   string
			seeded bool
			change func(m *typedsession.Manager[state], r *http.Request)
			want   string // the session afterwards, for a seeded client
			clear  bool   // the 500 must expire the cookie
		}{
			{"existing session", true, func(m *typedsession.Manager[state], r *http.Request) { note(m, r, "panicked") }, "1 seeded", false},
			{"new session", false, func(m *typedsession.Manager[state], r *http.Request) { note(m, r, "panicked") }, "", false},
			{"Destroy", true, func(m *typedsession.Manager[state], r *http.Request) { m.Destroy(r.Context()) }, "status 409", true},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				m := newManager(t)
				srv, panics := chiServer(t, m, p.use, middleware.Recoverer, func(w http.ResponseWriter, r *http.Request) {
					tc.change(m, r)
					panic("handler bug")
				})
				client := srv.Client()
				var cookie *http.Cookie
				if tc.seeded {
					cookie = seed(t, client, srv.URL)
				}
				resp, _ := do(t, client, "GET", srv.URL+"/do", cookie, nil)
				if resp.StatusCode != http.StatusInternalServerError || panics.Load() != 1 {
					t.Errorf("status %d, %d panics recovered; want Recoverer's 500 for one", resp.StatusCode, panics.Load())
				}
				c := sessionCookie(resp)
				switch {
				case tc.clear && (c == nil || c.MaxAge >= 0):
					t.Errorf("the 500 sets %v; want the destroyed session's cookie expired", c)
				case !tc.clear && c != nil:
					t.Errorf("the 500 sets %v; want no cookie", c)
				}
				if tc.seeded {
					if got := stateOf(t, client, srv.URL, cookie); got != tc.want {
						t.Errorf("the session is %q; want %q", got, tc.want)
					}
				}
			})
		}
	}
}
