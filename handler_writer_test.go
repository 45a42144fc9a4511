package typedsession_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
)

// minimal is a ResponseWriter with none of the optional methods.
type minimal struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func newMinimal() *minimal { return &minimal{h: http.Header{}} }

func (w *minimal) Header() http.Header { return w.h }
func (w *minimal) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *minimal) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// capable records the calls of the optional methods that reach it.
type capable struct {
	*minimal
	calls []string
}

func (w *capable) Flush() { w.calls = append(w.calls, "Flush") }
func (w *capable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.calls = append(w.calls, "Hijack")
	return nil, nil, errors.New("capable: no connection")
}
func (w *capable) Push(string, *http.PushOptions) error {
	w.calls = append(w.calls, "Push")
	return nil
}
func (w *capable) ReadFrom(r io.Reader) (int64, error) {
	w.calls = append(w.calls, "ReadFrom")
	return io.Copy(w.minimal, r)
}

// TestWriterWithoutAbilities checks the writer over a ResponseWriter that can do
// nothing but write: each optional method fails with http.ErrNotSupported (or, for
// ReadFrom, copies through Write), never panics, and commits nothing.
func TestWriterWithoutAbilities(t *testing.T) {
	m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
	for _, tc := range []struct {
		name string
		call func(w http.ResponseWriter) error
	}{
		{"Hijack", func(w http.ResponseWriter) error { _, _, err := w.(http.Hijacker).Hijack(); return err }},
		{"FlushError", func(w http.ResponseWriter) error { return w.(interface{ FlushError() error }).FlushError() }},
		{"ResponseController.Flush", func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
		{"Push", func(w http.ResponseWriter) error { return w.(http.Pusher).Push("/style.css", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var cookieAfterCall string
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Put(r.Context(), user{ID: 1})
				err = tc.call(w)
				cookieAfterCall = w.Header().Get("Set-Cookie")
				w.WriteHeader(http.StatusTeapot)
			}))
			w := newMinimal()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if !errors.Is(err, http.ErrNotSupported) {
				t.Errorf("%s = %v, want an error that wraps http.ErrNotSupported", tc.name, err)
			}
			if cookieAfterCall != "" {
				t.Errorf("the failed %s committed the session (Set-Cookie %q); want nothing committed", tc.name, cookieAfterCall)
			}
			if w.code != http.StatusTeapot || w.h.Get("Set-Cookie") == "" {
				t.Errorf("after the failed %s: status %d, Set-Cookie %q; want the handler's 418 with the session's cookie", tc.name, w.code, w.h.Get("Set-Cookie"))
			}
		})
	}
	t.Run("ReadFrom", func(t *testing.T) {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), user{ID: 1})
			if _, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("copied")); err != nil {
				t.Errorf("ReadFrom: %v", err)
			}
		}))
		w := newMinimal()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.body.String() != "copied" || w.h.Get("Set-Cookie") == "" {
			t.Errorf("body %q, Set-Cookie %q; want the copy, after the session's cookie", w.body.String(), w.h.Get("Set-Cookie"))
		}
	})
}

// TestWriterFollowsUnwrap checks that Hijack, Push and Flush reach a writer down the
// chain of Unwrap methods, as http.ResponseController does, and that ReadFrom does not:
// a middleware's writer without ReadFrom must see every byte (it may compress them).
func TestWriterFollowsUnwrap(t *testing.T) {
	m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := w.(http.Pusher).Push("/style.css", nil); err != nil {
			t.Errorf("Push: %v", err)
		}
		w.(http.Flusher).Flush()
		w.(io.ReaderFrom).ReadFrom(strings.NewReader("body"))
		if _, _, err := w.(http.Hijacker).Hijack(); err == nil || !strings.Contains(err.Error(), "capable") {
			t.Errorf("Hijack = %v, want the wrapped writer's own error", err)
		}
	}))
	inner := &capable{minimal: newMinimal()}
	h.ServeHTTP(chain{inner}, httptest.NewRequest("GET", "/", nil))
	if got, want := fmt.Sprint(inner.calls), "[Push Flush Hijack]"; got != want {
		t.Errorf("calls that reached the writer down the chain: %s, want %s (ReadFrom must not skip the middle writer)", got, want)
	}
	if got := inner.body.String(); got != "body" {
		t.Errorf("body = %q, want it written through the middle writer", got)
	}
}

// chain is a middleware's writer that has none of the optional methods but Unwrap.
type chain struct{ next *capable }

func (w chain) Header() http.Header         { return w.next.Header() }
func (w chain) WriteHeader(code int)        { w.next.WriteHeader(code) }
func (w chain) Write(b []byte) (int, error) { return w.next.minimal.Write(b) }
func (w chain) Unwrap() http.ResponseWriter { return w.next }

// TestHijack checks Hijack on real connections: over HTTP/1.1 the session's cookie is
// in the header when Hijack returns, for an upgrader that writes its own response;
// over HTTP/2 it fails with http.ErrNotSupported and commits nothing; and after a
// failed Commit that the handler ignores, the ErrorHandler answers instead of the
// upgrade, as it would instead of a 2xx.
func TestHijack(t *testing.T) {
	t.Run("HTTP/1.1", func(t *testing.T) {
		m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), user{ID: 1})
			conn, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			// What an upgrader does: its own response, from the header it was given.
			fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nSet-Cookie: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", w.Header().Get("Set-Cookie"))
			brw.Flush()
		})))
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(resp.Cookies()) != 1 || resp.Cookies()[0].Value == "" {
			t.Errorf("Set-Cookie of the hijacked response = %q; want the session's cookie in Header() after Hijack", resp.Header.Values("Set-Cookie"))
		}
	})
	t.Run("HTTP/2", func(t *testing.T) {
		m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{})
		var err error
		var cookie string
		srv := httptest.NewUnstartedServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), user{ID: 1})
			_, _, err = w.(http.Hijacker).Hijack()
			cookie = w.Header().Get("Set-Cookie")
			http.Error(w, "no upgrade over HTTP/2", http.StatusBadRequest)
		})))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		resp, gerr := srv.Client().Get(srv.URL)
		if gerr != nil {
			t.Fatal(gerr)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("the request went over %s; want HTTP/2", resp.Proto)
		}
		if !errors.Is(err, http.ErrNotSupported) || cookie != "" {
			t.Errorf("Hijack over HTTP/2: error %v, Set-Cookie after it %q; want http.ErrNotSupported and nothing committed", err, cookie)
		}
		if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 1 {
			t.Errorf("status %d, %d cookies; want the handler's own 400, with the session's cookie", resp.StatusCode, len(resp.Cookies()))
		}
	})
	t.Run("after a failed Commit", func(t *testing.T) {
		m, _ := typedsession.New[user](failing{}, typedsession.Options{Logger: discard})
		var err error
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), user{ID: 1})
			m.Commit(r.Context()) // fails, and the handler upgrades anyway
			var conn net.Conn
			conn, _, err = w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		})))
		defer srv.Close()
		resp, gerr := srv.Client().Get(srv.URL)
		if gerr != nil {
			t.Fatalf("%v; want the ErrorHandler's response, not a hijacked connection", gerr)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || err == nil {
			t.Errorf("status %d, Hijack error %v; want the ErrorHandler's 503 and Hijack refused", resp.StatusCode, err)
		}
	})
}
