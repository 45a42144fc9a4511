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

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

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
	w := serve(h, &http.Cookie{Name: defaultName, Value: newToken()})
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "hello") {
		t.Errorf("status %d, body %q; want the ErrorHandler's 503", w.Code, w.Body)
	}
	if !errors.Is(got, errDown) {
		t.Errorf("ErrorHandler got %v, want the store's error", got)
	}
	if !strings.Contains(logs.String(), "store is down") {
		t.Errorf("log = %q, want the failure logged", logs.String())
	}

	// A failed save is reported the same way, with the default ErrorHandler: 503 and
	// Retry-After, for a store that is unavailable.
	m2, _ := typedsession.New[user](failing{}, typedsession.Options{Logger: discard})
	h2 := m2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m2.Put(r.Context(), user{ID: 1})
		io.WriteString(w, "saved")
	}))
	if w := serve(h2, nil); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || w.Body.String() == "saved" {
		t.Errorf("failed save: status %d, Retry-After %q, body %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
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

// TestDefaultErrorHandler checks the statuses of the default ErrorHandler that this
// package can provoke without a race (the races are in storetest): 503 and Retry-After
// for a store that failed, 500 for a value that does not encode.
func TestDefaultErrorHandler(t *testing.T) {
	down, _ := typedsession.New[user](failing{}, typedsession.Options{Logger: discard})
	h := down.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		down.Get(r.Context())
	}))
	if w := serve(h, &http.Cookie{Name: defaultName, Value: newToken()}); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("store down: status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	bad, _ := typedsession.New[func()](newMemstore(t), typedsession.Options{Logger: discard})
	h = bad.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad.Put(r.Context(), func() {})
	}))
	if w := serve(h, nil); w.Code != http.StatusInternalServerError {
		t.Errorf("a value that does not encode: status %d, want 500", w.Code)
	}
	full, _ := typedsession.New[user](tooLarge{newMemstore(t)}, typedsession.Options{Logger: discard})
	h = full.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		full.Put(r.Context(), user{ID: 1})
	}))
	if w := serve(h, nil); w.Code != http.StatusInternalServerError || w.Header().Get("Retry-After") != "" {
		t.Errorf("a session too large for its store: status %d, Retry-After %q; want 500, not an outage", w.Code, w.Header().Get("Retry-After"))
	}
}

// endFails is a Store over a memstore whose ending of a session (Destroy) fails, as
// when the store goes down between the read and the logout.
type endFails struct{ store.Store }

func (s endFails) Save(ctx context.Context, token string, version uint64, rec store.Record) (string, error) {
	if rec.Ended != store.NotEnded {
		return "", errDown
	}
	return s.Store.Save(ctx, token, version, rec)
}

// TestDestroyFailureGoesToErrorHandler checks that a logout the store failed is never
// answered as a success, even by a handler that ignores Destroy's error: the
// ErrorHandler answers, and the client's cookie is left as it was.
func TestDestroyFailureGoesToErrorHandler(t *testing.T) {
	st := endFails{newMemstore(t)}
	m, _ := typedsession.New[user](st, typedsession.Options{Logger: discard})
	w := serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Put(r.Context(), user{ID: 1})
	})), nil)
	cookie := w.Result().Cookies()[0]
	w = serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Destroy(r.Context()) // the error is ignored
		io.WriteString(w, "logged out")
	})), cookie)
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "logged out") || len(w.Result().Cookies()) != 0 {
		t.Errorf("a failed Destroy: status %d, body %q, cookies %v; want the ErrorHandler's 503 and the cookie left alone", w.Code, w.Body, w.Result().Cookies())
	}
}

// slow is a Store whose calls take delay, or stall until their context ends when delay
// is negative, as a stalled backend (accepting connections, never answering) does.
type slow struct {
	store.Store
	delay time.Duration
}

func (s slow) wait(ctx context.Context) error {
	var after <-chan time.Time
	if s.delay >= 0 {
		after = time.After(s.delay)
	}
	select {
	case <-after:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slow) Load(ctx context.Context, token string) (store.Record, bool, error) {
	if err := s.wait(ctx); err != nil {
		return store.Record{}, false, err
	}
	return s.Store.Load(ctx, token)
}

func (s slow) Save(ctx context.Context, token string, version uint64, rec store.Record) (string, error) {
	if err := s.wait(ctx); err != nil {
		return "", err
	}
	return s.Store.Save(ctx, token, version, rec)
}

// TestStoreTimeout checks that the store calls of one request share the budget of
// Options.StoreTimeout: a stalled store is a 503 within about that, not a hang, and a
// slow one cannot take the budget twice.
func TestStoreTimeout(t *testing.T) {
	mem := newMemstore(t)
	seed, _ := typedsession.New[user](mem, typedsession.Options{})
	w := serve(seed.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seed.Put(r.Context(), user{ID: 1})
	})), nil)
	cookie := w.Result().Cookies()[0]
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{
		{"stalled", -1},
		{"slow: each call takes 60% of the budget", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got error
			m, _ := typedsession.New[user](slow{mem, tc.delay}, typedsession.Options{
				StoreTimeout: 500 * time.Millisecond,
				Logger:       discard,
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					got = err
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
				},
			})
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Update(r.Context(), func(u *user) error { u.Name = "Ada"; return nil })
			}))
			start := time.Now()
			w := serve(h, cookie)
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("the request took %v; want an error within about the 500ms budget", elapsed)
			}
			if w.Code != http.StatusServiceUnavailable || !errors.Is(got, typedsession.ErrUnavailable) || !errors.Is(got, context.DeadlineExceeded) {
				t.Errorf("status %d, error %v; want 503 and an ErrUnavailable that wraps context.DeadlineExceeded", w.Code, got)
			}
		})
	}
	// The stored session is intact.
	m, _ := typedsession.New[user](mem, typedsession.Options{})
	w = serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := m.Get(r.Context())
		fmt.Fprint(w, u.ID, u.Name, err)
	})), cookie)
	if got := w.Body.String(); got != "1<nil>" {
		t.Errorf("after the timeouts, the session gives %q; want it as it was (1, no name)", got)
	}
}

// TestFailedRequestKeepsSession checks that a request that fails (a 5xx response) or
// ends without a response (a panic, a handler that returns after its context is done)
// leaves its session as it was and sets no cookie for its changes, while what it
// already stored (Commit, Destroy) stands and still gets its cookie.
func TestFailedRequestKeepsSession(t *testing.T) {
	type ending func(w http.ResponseWriter, cancel context.CancelFunc)
	var (
		status500 ending = func(w http.ResponseWriter, _ context.CancelFunc) { w.WriteHeader(http.StatusInternalServerError) }
		status504 ending = func(w http.ResponseWriter, _ context.CancelFunc) {
			http.Error(w, "too slow", http.StatusGatewayTimeout)
		}
		panics    ending = func(http.ResponseWriter, context.CancelFunc) { panic("handler bug") }
		abandoned ending = func(_ http.ResponseWriter, cancel context.CancelFunc) { cancel() }
	)
	endings := []struct {
		name string
		end  ending
	}{{"500", status500}, {"504", status504}, {"panic", panics}, {"context done", abandoned}}
	for _, tc := range []struct {
		name   string
		change func(m *typedsession.Manager[user], ctx context.Context)
		// What the next request with the client's old cookie sees, and the cookie the
		// failed response must carry: "" none, "clear" one that expires it.
		want   string
		cookie string
	}{
		{"Update", func(m *typedsession.Manager[user], ctx context.Context) {
			m.Update(ctx, func(u *user) error { u.Name = "Bob"; return nil })
		}, "1 Ada", ""},
		{"Renew", func(m *typedsession.Manager[user], ctx context.Context) {
			m.Update(ctx, func(u *user) error { u.Name = "Bob"; return nil })
			m.Renew(ctx)
		}, "1 Ada", ""},
		{"Update and Commit", func(m *typedsession.Manager[user], ctx context.Context) {
			m.Update(ctx, func(u *user) error { u.Name = "Bob"; return nil })
			m.Commit(ctx)
		}, "1 Bob", ""},
		{"Destroy", func(m *typedsession.Manager[user], ctx context.Context) {
			m.Destroy(ctx)
		}, "ended", "clear"},
	} {
		for _, e := range endings {
			t.Run(tc.name+"/"+e.name, func(t *testing.T) {
				var handled error
				m, _ := typedsession.New[user](newMemstore(t), typedsession.Options{
					Logger: discard,
					ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
						handled = err
						w.WriteHeader(http.StatusConflict)
						io.WriteString(w, "ended")
					},
				})
				h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch r.URL.Path {
					case "/seed":
						m.Put(r.Context(), user{ID: 1, Name: "Ada"})
					case "/get":
						u, _ := m.Get(r.Context()) // an error is the ErrorHandler's "ended"
						fmt.Fprint(w, u.ID, " ", u.Name)
					default:
						tc.change(m, r.Context())
						e.end(w, cancelOf(r.Context()))
					}
				}))
				seed := httptest.NewRecorder()
				h.ServeHTTP(seed, httptest.NewRequest("GET", "/seed", nil))
				cookie := seed.Result().Cookies()[0]

				// The outer layer gives the request a context it can cancel, and
				// recovers a panic with a 500, as a recoverer and a timeout
				// installed before the session middleware do.
				w := httptest.NewRecorder()
				func() {
					defer func() {
						if recover() != nil {
							w.WriteHeader(http.StatusInternalServerError)
						}
					}()
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					req := httptest.NewRequestWithContext(context.WithValue(ctx, cancelKey{}, cancel), "GET", "/change", nil)
					req.AddCookie(cookie)
					h.ServeHTTP(w, req)
				}()
				if handled != nil {
					t.Errorf("the ErrorHandler got %v; want it not called", handled)
				}
				set := w.Result().Cookies()
				switch {
				case tc.cookie == "" && len(set) != 0:
					t.Errorf("the failed response sets %v; want no cookie", set)
				case tc.cookie == "clear" && (len(set) != 1 || set[0].MaxAge >= 0):
					t.Errorf("the failed response sets %v; want the destroyed session's cookie expired", set)
				}
				req := httptest.NewRequest("GET", "/get", nil)
				req.AddCookie(cookie)
				got := httptest.NewRecorder()
				h.ServeHTTP(got, req)
				if got.Body.String() != tc.want {
					t.Errorf("the session is then %q; want %q", got.Body, tc.want)
				}
			})
		}
	}
}

type cancelKey struct{}

// cancelOf returns the cancel function the test put in ctx.
func cancelOf(ctx context.Context) context.CancelFunc {
	return ctx.Value(cancelKey{}).(context.CancelFunc)
}

// TestDoneContextStillReportsFailure checks that a handler that returns without a
// response after its context is done, having failed to load its session, gets the
// ErrorHandler's answer, not an empty 200 that says nothing went wrong.
func TestDoneContextStillReportsFailure(t *testing.T) {
	var handled error
	m, _ := typedsession.New[user](failing{}, typedsession.Options{
		Logger: discard,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled = err
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		},
	})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Get(r.Context()); err != nil {
			cancelOf(r.Context())()
			return
		}
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req := httptest.NewRequestWithContext(context.WithValue(ctx, cancelKey{}, cancel), "GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: defaultName, Value: newToken()})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || !errors.Is(handled, errDown) {
		t.Errorf("status %d, ErrorHandler got %v; want its 503 for the store's error", w.Code, handled)
	}
}

// tooLarge is a Store that refuses every save as too large, as the cookie store does a
// session over the browser's limit.
type tooLarge struct{ store.Store }

func (tooLarge) Save(context.Context, string, uint64, store.Record) (string, error) {
	return "", fmt.Errorf("the session does not fit: %w", store.ErrTooLarge)
}
