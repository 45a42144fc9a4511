package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

type counter struct{ N int }

// TestOutage cuts Redis off (a proxy the test controls) in the middle of traffic
// through the Manager: requests fail through the ErrorHandler, nothing panics, no
// response resets a client's session; once Redis is back, the same cookies find their
// sessions, with every acknowledged increment in them.
func TestOutage(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			testOutage(t, cfg.opts)
		})
	}
}

func testOutage(t *testing.T, opts redisstore.Options) {
	p := testenv.NewProxy(t, redisAddr())
	// The client's defaults: reads are retried until the request's deadline.
	c := dial(t, rueidis.ClientOption{InitAddress: []string{p.Addr()}})
	st := newStoreOn(t, c, opts)

	var handled atomic.Int64
	m, err := typedsession.New[counter](st, typedsession.Options{
		Insecure: true,
		Logger:   slog.New(slog.DiscardHandler),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled.Add(1)
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := m.Update(r.Context(), func(c *counter) error { c.N++; n = c.N; return nil }); err != nil {
			return // the middleware reports it through the ErrorHandler
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		v, err := m.Get(r.Context())
		if err != nil {
			return
		}
		fmt.Fprint(w, v.N)
	})
	// Every request has a deadline, as it should in production: a read that rueidis
	// retries while Redis is away ends with the request's deadline.
	timeout := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	srv := httptest.NewServer(timeout(m.Handler(mux)))
	t.Cleanup(srv.Close)

	type user struct {
		client       *http.Client
		cookie       string
		acked, tried int // increments acknowledged with 200, and attempted
		failed       int
	}
	users := make([]*user, 4)
	for i := range users {
		jar, _ := cookiejar.New(nil)
		users[i] = &user{client: &http.Client{Jar: jar}}
	}
	// do sends one request for u and checks what must hold whatever the state of
	// Redis: 200 or the ErrorHandler's 503, and no Set-Cookie on a failure.
	do := func(u *user, method, path string) (int, bool) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := u.client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v (a panic in the handler closes the connection)", method, path, err)
			return 0, false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			n, err := strconv.Atoi(string(body))
			if err != nil {
				t.Errorf("%s %s: body %q", method, path, body)
			}
			return n, true
		case http.StatusServiceUnavailable:
			if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("%s %s failed with Set-Cookie %q: a failure must not reset the session", method, path, sc)
			}
			return 0, false
		default:
			t.Errorf("%s %s: status %d %q, want 200 or the ErrorHandler's 503", method, path, resp.StatusCode, body)
			return 0, false
		}
	}
	incr := func(u *user) {
		u.tried++
		if _, ok := do(u, "POST", "/incr"); ok {
			u.acked++
		} else {
			u.failed++
		}
	}
	cookieOf := func(u *user) string {
		for _, c := range u.client.Jar.Cookies(mustURL(t, srv.URL)) {
			if c.Name == "session" {
				return c.Value
			}
		}
		return ""
	}

	for _, u := range users {
		incr(u)
		if u.acked != 1 {
			t.Fatalf("first increment failed with Redis up")
		}
		u.cookie = cookieOf(u)
	}

	// Traffic from every user; Redis goes away in the middle of it.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, u := range users {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				incr(u)
				do(u, "GET", "/read")
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	p.Cut()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Redis is away: every request fails through the ErrorHandler (each user at once, as
	// each waits out the request's deadline).
	before := handled.Load()
	for _, u := range users {
		wg.Go(func() {
			if _, ok := do(u, "GET", "/read"); ok {
				t.Errorf("GET /read succeeded with Redis cut off")
			}
			incr(u)
			if u.failed == 0 {
				t.Errorf("no increment failed with Redis cut off")
			}
		})
	}
	wg.Wait()
	if got := handled.Load() - before; got != 2*int64(len(users)) {
		t.Errorf("ErrorHandler called %d times for %d failed requests", got, 2*len(users))
	}

	// Redis is back: the same cookies find their sessions.
	p.Restore()
	for _, u := range users {
		if got := cookieOf(u); got != u.cookie {
			t.Errorf("the session cookie changed during the outage: %q, was %q", got, u.cookie)
		}
		n := waitRead(t, do, u)
		// An increment whose reply was lost may or may not have been saved.
		if n < u.acked || n > u.tried {
			t.Errorf("after the outage, Counter = %d; want between %d acknowledged and %d attempted increments", n, u.acked, u.tried)
		}
		// One more increment, tried until acknowledged: on a loaded machine a request
		// may still run out of its deadline.
		tries := 0
		for acked := false; !acked && tries < 20; tries++ {
			_, acked = do(u, "POST", "/incr")
		}
		if got := waitRead(t, do, u); got < n+1 || got > n+tries {
			t.Errorf("after the outage, %d tries to increment made Counter %d, want %d to %d", tries, got, n+1, n+tries)
		}
	}
}

// waitRead reads u's counter until Redis answers again.
func waitRead[U any](t *testing.T, do func(*U, string, string) (int, bool), u *U) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, ok := do(u, "GET", "/read"); ok {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
