package compat

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// TestSSE streams server-sent events from a handler that changed the session first,
// over HTTP/1.1 and HTTP/2: the first event reaches the client while the handler is
// still held (it was flushed, through http.ResponseController), the stream's headers
// carry the new session's cookie, the session is saved while the stream is open, and
// a second event flushed through http.Flusher follows.
func TestSSE(t *testing.T) {
	for _, tc := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			release := make(chan struct{})
			r := chi.NewRouter()
			r.Use(m.Handler)
			r.Get("/state", stateHandler(m))
			r.Get("/events", func(w http.ResponseWriter, r *http.Request) {
				if err := note(m, r, "streamed"); err != nil {
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "data: one\n\n")
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("ResponseController.Flush: %v", err)
					return
				}
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				fmt.Fprint(w, "data: two\n\n")
				w.(http.Flusher).Flush()
			})
			srv := httptest.NewUnstartedServer(r)
			if tc.http2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			client := srv.Client()

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
			resp, err := client.Do(req)
			if err != nil {
				close(release)
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if want := map[bool]int{false: 1, true: 2}[tc.http2]; resp.ProtoMajor != want {
				t.Errorf("the stream went over %s; want HTTP/%d", resp.Proto, want)
			}
			cookie := sessionCookie(resp)
			if cookie == nil {
				t.Errorf("the stream's headers set %q; want the new session's cookie", resp.Header.Values("Set-Cookie"))
			}
			events := bufio.NewReader(resp.Body)
			if got := readEvent(t, events); got != "data: one" {
				t.Errorf("first event %q, want %q (flushed while the handler is held)", got, "data: one")
			}
			if cookie != nil {
				if got := stateOf(t, client, srv.URL, cookie); got != "1 streamed" {
					t.Errorf("while the stream is open the session is %q; want %q", got, "1 streamed")
				}
			}
			close(release)
			if got := readEvent(t, events); got != "data: two" {
				t.Errorf("second event %q, want %q", got, "data: two")
			}
			if rest, err := io.ReadAll(events); err != nil || len(rest) != 0 {
				t.Errorf("after the events: %q, %v; want the end of the stream", rest, err)
			}
		})
	}
}

// readEvent reads one event (its line and the blank line after it) from r.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading an event: %q, %v", line, err)
	}
	if blank, err := r.ReadString('\n'); err != nil || blank != "\n" {
		t.Fatalf("after the event %q: %q, %v; want a blank line", line, blank, err)
	}
	return line[:len(line)-1]
}
