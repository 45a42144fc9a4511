package compat

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// state is the session value of every test: how many requests changed it, and what
// the last of them noted.
type state struct {
	Visits int
	Note   string
}

// newManager returns a Manager with the default (secure) options over a fresh
// memstore, logging to the test's output.
func newManager(t *testing.T) *typedsession.Manager[state] {
	t.Helper()
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := typedsession.New[state](st, typedsession.Options{
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// note records one more visit with note n, as the handlers under test do before
// they stream, upgrade, serve a file, panic or time out.
func note(m *typedsession.Manager[state], r *http.Request, n string) error {
	return m.Update(r.Context(), func(s *state) error {
		s.Visits++
		s.Note = n
		return nil
	})
}

// seedHandler starts a session {1 seeded}.
func seedHandler(m *typedsession.Manager[state]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := m.Put(r.Context(), state{Visits: 1, Note: "seeded"}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// stateHandler writes the session as "Visits Note".
func stateHandler(m *typedsession.Manager[state]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Get(r.Context())
		if err != nil {
			return // the ErrorHandler answers
		}
		fmt.Fprintf(w, "%d %s", s.Visits, s.Note)
	}
}

// do sends a request with the session cookie c (nil: none) and returns the response
// and its body.
func do(t *testing.T, client *http.Client, method, url string, c *http.Cookie, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(body)
}

// sessionCookie returns the session cookie resp sets, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-session" { // the default cookie name
			return c
		}
	}
	return nil
}

// seed starts a session through base+"/seed" and returns its cookie.
func seed(t *testing.T, client *http.Client, base string) *http.Cookie {
	t.Helper()
	resp, body := do(t, client, "GET", base+"/seed", nil, nil)
	c := sessionCookie(resp)
	if resp.StatusCode != http.StatusOK || c == nil {
		t.Fatalf("GET /seed: status %d, body %q, cookie %v; want 200 and a session cookie", resp.StatusCode, body, c)
	}
	return c
}

// stateOf returns what base+"/state" says of the session of cookie c: "Visits Note",
// or "status N" when it does not answer 200.
func stateOf(t *testing.T, client *http.Client, base string, c *http.Cookie) string {
	t.Helper()
	resp, body := do(t, client, "GET", base+"/state", c, nil)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	return body
}

// header returns a header of the given key-value pairs.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// cookieHeader returns the request header that sends cookie c, or an empty one for nil.
func cookieHeader(c *http.Cookie) http.Header {
	if c == nil {
		return http.Header{}
	}
	return header("Cookie", c.Name+"="+c.Value)
}

// wsURL turns an httptest server's http:// URL into a ws:// one.
func wsURL(base, path string) string {
	return "ws" + strings.TrimPrefix(base, "http") + path
}
