package pgstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
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
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// TestOutageKV cuts the connection between pgx and PostgreSQL: every
// operation fails with an error (never "not found"), and after the cut ends
// the same keys hold the same records.
func TestOutageKV(t *testing.T) {
	t.Parallel()
	pool, p := proxiedPool(t)
	kv := newStore(t, pool, pgstore.Options{}).KVStore.KV
	ctx := t.Context()
	k := key(t)
	rec := record("kept", 1, time.Hour)
	if err := kv.Create(ctx, k, rec); err != nil {
		t.Fatal(err)
	}

	p.Cut()
	for i := range 3 { // idle connections, then new ones refused
		if _, found, err := kv.Get(ctx, k); err == nil || found {
			t.Errorf("Get #%d during the outage = found %v, err %v; want an error", i, found, err)
		}
	}
	if err := kv.Update(ctx, k, 1, record("lost", 2, time.Hour)); err == nil {
		t.Error("Update during the outage succeeded")
	}
	p.Restore()

	got, found, err := getEventually(t, kv, k)
	if err != nil || !found || !sameRecord(got, rec) {
		t.Errorf("Get after the outage = %+v, %v, %v; want %+v", got, found, err, rec)
	}
}

// getEventually reads k until the pool has replaced its broken connections.
func getEventually(t *testing.T, kv store.KV, k string) (store.Record, bool, error) {
	t.Helper()
	var (
		rec   store.Record
		found bool
		err   error
	)
	for range 20 {
		if rec, found, err = kv.Get(t.Context(), k); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return rec, found, err
}

// TestOutageManager cuts PostgreSQL off in the middle of HTTP traffic through
// a Manager: requests fail through the ErrorHandler, nothing panics, no
// response clears or replaces a cookie, no acknowledged write is lost, and once
// PostgreSQL is back the same cookies see their sessions.
func TestOutageManager(t *testing.T) {
	t.Parallel()
	pool, p := proxiedPool(t)
	st := newStore(t, pool, pgstore.Options{})

	type counter struct{ N int }
	var handled atomic.Int64
	m, err := typedsession.New[counter](st, typedsession.Options{
		Insecure: true, // plain-http httptest server
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
		err := m.Update(r.Context(), func(c *counter) error { c.N++; n = c.N; return nil })
		if err != nil {
			return // the middleware reports it through the ErrorHandler
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		c, err := m.Get(r.Context())
		if err != nil {
			return
		}
		fmt.Fprint(w, c.N)
	})
	ts := httptest.NewUnstartedServer(m.Handler(mux))
	var serverLog bytes.Buffer
	var logMu sync.Mutex
	ts.Config.ErrorLog = log.New(writerFunc(func(b []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return serverLog.Write(b)
	}), "", 0)
	ts.Start()
	t.Cleanup(ts.Close)
	u, _ := url.Parse(ts.URL)

	// A few browsers, each with a session.
	type browser struct {
		c              *http.Client
		cookie         string
		acked, tried   atomic.Int64 // increments answered 200, and sent
		zeroDuringDown atomic.Int64 // reads that saw an empty session: must stay 0
	}
	browsers := make([]*browser, 3)
	for i := range browsers {
		jar, _ := cookiejar.New(nil)
		b := &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
		if code, body := request(t, b.c, "POST", ts.URL+"/incr"); code != http.StatusOK || body != "1" {
			t.Fatalf("first increment = %d %q, want 200 1", code, body)
		}
		b.acked.Add(1)
		b.tried.Add(1)
		b.cookie = sessionCookie(jar, u)
		if b.cookie == "" {
			t.Fatal("no session cookie after the first increment")
		}
		browsers[i] = b
	}

	// Traffic on every session, cut in the middle.
	stop := make(chan struct{})
	var cut atomic.Bool
	var wg sync.WaitGroup
	for _, b := range browsers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%2 == 0 {
					b.tried.Add(1)
					code, _ := request(t, b.c, "POST", ts.URL+"/incr")
					if code == http.StatusOK {
						b.acked.Add(1)
					} else if code != http.StatusServiceUnavailable {
						t.Errorf("POST /incr = %d, want 200 or the ErrorHandler's 503", code)
					}
				} else {
					code, body := request(t, b.c, "GET", ts.URL+"/get")
					if code == http.StatusOK && body == "0" {
						b.zeroDuringDown.Add(1)
					}
					if code != http.StatusOK && code != http.StatusServiceUnavailable {
						t.Errorf("GET /get = %d, want 200 or the ErrorHandler's 503", code)
					}
				}
				if cut.Load() {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, b := range browsers { // let each make progress before the cut
		for b.acked.Load() < 4 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	handledBefore := handled.Load()
	p.Cut()
	cut.Store(true)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if handled.Load() == handledBefore {
		t.Error("no request went through the ErrorHandler during the outage")
	}

	// Still down: a request fails through the ErrorHandler and sets no cookie.
	for _, path := range []string{"GET /get", "POST /incr"} {
		method, target, _ := strings.Cut(path, " ")
		req, _ := http.NewRequest(method, ts.URL+target, nil)
		resp, err := browsers[0].c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage = %d, want the ErrorHandler's 503", path, resp.StatusCode)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s during the outage set cookies %q; want none", path, sc)
		}
	}
	browsers[0].tried.Add(1) // the POST above

	p.Restore()
	for i, b := range browsers {
		if got := sessionCookie(b.c.Jar, u); got != b.cookie {
			t.Errorf("browser %d: cookie changed during the outage: %q, want %q", i, got, b.cookie)
		}
		if n := b.zeroDuringDown.Load(); n != 0 {
			t.Errorf("browser %d: %d reads saw an empty session instead of an error", i, n)
		}
		var code int
		var body string
		for range 20 { // the pool replaces its broken connections
			if code, body = request(t, b.c, "GET", ts.URL+"/get"); code == http.StatusOK {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		n, err := strconv.Atoi(body)
		if code != http.StatusOK || err != nil {
			t.Fatalf("browser %d: GET /get after the outage = %d %q", i, code, body)
		}
		// Every acknowledged increment is kept; one whose answer was lost in the
		// cut may have been committed too.
		if acked, tried := int(b.acked.Load()), int(b.tried.Load()); n < acked || n > tried {
			t.Errorf("browser %d: counter = %d after the outage; want between %d acknowledged and %d sent", i, n, acked, tried)
		}
		// One more increment, tried until acknowledged: the pool may still hand out a
		// connection the cut broke. A try whose answer was an error may have committed.
		tries, code, body := 0, 0, ""
		for ; code != http.StatusOK && tries < 20; tries++ {
			code, body = request(t, b.c, "POST", ts.URL+"/incr")
		}
		if got, err := strconv.Atoi(body); code != http.StatusOK || err != nil || got < n+1 || got > n+tries {
			t.Errorf("browser %d: %d tries to increment after the outage = %d %q, want 200 and %d to %d", i, tries, code, body, n+1, n+tries)
		}
		if got := sessionCookie(b.c.Jar, u); got != b.cookie {
			t.Errorf("browser %d: cookie = %q after the outage, want the same %q", i, got, b.cookie)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(serverLog.String(), "panic") {
		t.Errorf("the server panicked:\n%s", serverLog.String())
	}
	t.Logf("%d requests went through the ErrorHandler", handled.Load())
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// request sends a request and returns its status and body.
func request(t *testing.T, c *http.Client, method, target string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, t.Context().Err()) {
			return 0, ""
		}
		t.Errorf("%s %s: %v", method, target, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sessionCookie returns the value of the session cookie in jar for u.
func sessionCookie(jar http.CookieJar, u *url.URL) string {
	for _, c := range jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}
