package typedsession_test

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// browser is what the examples use to play a user: a TLS test server over h and a
// client with a cookie jar. visit sends one request and prints the body, if any.
type browser struct {
	srv    *httptest.Server
	client *http.Client
}

func newBrowser(h http.Handler) *browser {
	srv := httptest.NewTLSServer(h)
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	return &browser{srv, c}
}

// another returns a second browser (another device) on the same server.
func (b *browser) another() *browser {
	c := *b.srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	return &browser{b.srv, &c}
}

func (b *browser) visit(method, path string) {
	req, err := http.NewRequest(method, b.srv.URL+path, nil)
	if err != nil {
		panic(err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if s := strings.TrimSpace(string(body)); s != "" {
		fmt.Println(s)
	}
}

// newSessions returns a Manager over a fresh memstore, with opts.
func newSessions[T any](opts typedsession.Options) *typedsession.Manager[T] {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		panic(err)
	}
	m, err := typedsession.New[T](st, opts)
	if err != nil {
		panic(err)
	}
	return m
}

// Update changes the session in place. Its function may run more than once: when
// another request changed the session meanwhile, it is applied again to the reloaded
// value, so that neither change is lost.
func ExampleManager_Update() {
	type Cart struct{ Items []string }
	sessions := newSessions[Cart](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		err := sessions.Update(r.Context(), func(c *Cart) error {
			if len(c.Items) >= 3 {
				return errors.New("the cart is full") // nothing is changed
			}
			c.Items = append(c.Items, r.FormValue("item"))
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		c, _ := sessions.Get(r.Context())
		fmt.Fprint(w, c.Items)
	})
	b := newBrowser(sessions.Handler(mux))
	for _, item := range []string{"book", "pen", "ink", "lamp"} {
		b.visit("POST", "/cart?item="+item)
	}
	// Output:
	// [book]
	// [book pen]
	// [book pen ink]
	// the cart is full
}

// Renew on login: the session keeps its data (the cart) under a new token, and the
// token from before the login is dead, so one planted by an attacker rides nowhere.
func ExampleManager_Renew() {
	type Session struct {
		User string
		Cart []string
	}
	sessions := newSessions[Session](typedsession.Options{Logger: slog.New(slog.DiscardHandler)})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		sessions.Update(r.Context(), func(s *Session) error { s.Cart = append(s.Cart, "book"); return nil })
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		err := sessions.Update(r.Context(), func(s *Session) error { s.User = "ada"; return nil })
		if err == nil {
			err = sessions.Renew(r.Context())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, err := sessions.Get(r.Context())
		if err != nil {
			return // the old token, replayed: Options.ErrorHandler answers 409
		}
		fmt.Fprintf(w, "user %q, cart %v", s.User, s.Cart)
	})
	b := newBrowser(sessions.Handler(mux))
	b.visit("POST", "/cart")
	before := b.client.Jar.Cookies(mustURL(b.srv.URL))
	b.visit("POST", "/login")
	b.visit("GET", "/")

	replay := b.another()
	replay.client.Jar.SetCookies(mustURL(b.srv.URL), before)
	replay.visit("GET", "/")
	// Output:
	// user "ada", cart [book]
	// Conflict
}

// SetOwner at login makes the session one of its user's, so that Sessions lists it and
// DestroyOthers and DestroyOwner end it. A change of owner renews the token, as Renew.
func ExampleManager_SetOwner() {
	type Session struct{ User string }
	sessions := newSessions[Session](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.FormValue("user") // after checking the password
		err := sessions.Put(r.Context(), Session{User: user})
		if err == nil {
			err = sessions.SetOwner(r.Context(), user)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.Get(r.Context())
		n := 0
		for _, err := range sessions.Sessions(r.Context(), s.User) {
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			n++
		}
		fmt.Fprintf(w, "%s is signed in on %d devices", s.User, n)
	})
	phone := newBrowser(sessions.Handler(mux))
	laptop := phone.another()
	phone.visit("POST", "/login?user=ada")
	laptop.visit("POST", "/login?user=ada")
	laptop.visit("GET", "/devices")
	// Output: ada is signed in on 2 devices
}

// Sessions lists the sessions of a user for an account page, the request's own first;
// DestroyID signs one device out, and DestroyOthers all but this one.
func ExampleManager_Sessions() {
	sessions := newSessions[struct{ User string }](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sessions.Put(r.Context(), struct{ User string }{"ada"})
		sessions.SetOwner(r.Context(), "ada")
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		for info, err := range sessions.Sessions(r.Context(), "ada") {
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "current=%v remember=%v\n", info.Current, info.RememberMe)
		}
	})
	mux.HandleFunc("POST /signout-others", func(w http.ResponseWriter, r *http.Request) {
		n, err := sessions.DestroyOthers(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "signed out %d other devices", n)
	})
	phone := newBrowser(sessions.Handler(mux))
	laptop, tablet := phone.another(), phone.another()
	for _, b := range []*browser{phone, laptop, tablet} {
		b.visit("POST", "/login")
	}
	laptop.visit("GET", "/account")
	laptop.visit("POST", "/signout-others")
	laptop.visit("GET", "/account")
	// Output:
	// current=true remember=false
	// current=false remember=false
	// current=false remember=false
	// signed out 2 other devices
	// current=true remember=false
}

// DestroyOthers after a password change: every other device of the user is signed out,
// and their next request has no session.
func ExampleManager_DestroyOthers() {
	type Session struct{ User string }
	sessions := newSessions[Session](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sessions.Put(r.Context(), Session{User: "ada"})
		sessions.SetOwner(r.Context(), "ada")
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		// ... the new password is stored; then:
		if _, err := sessions.DestroyOthers(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.Get(r.Context())
		fmt.Fprintf(w, "user %q", s.User)
	})
	laptop := newBrowser(sessions.Handler(mux))
	phone := laptop.another()
	laptop.visit("POST", "/login")
	phone.visit("POST", "/login")
	laptop.visit("POST", "/password")
	laptop.visit("GET", "/")
	phone.visit("GET", "/")
	// Output:
	// user "ada"
	// user ""
}

// Swap reads and clears a one-time flash message in one compare-and-swap: of two
// requests racing for it, exactly one shows it.
func ExampleManager_Swap() {
	type Session struct{ Flash string }
	sessions := newSessions[Session](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", func(w http.ResponseWriter, r *http.Request) {
		// ... the form is saved; tell the user on the next page.
		sessions.Update(r.Context(), func(s *Session) error { s.Flash = "Saved."; return nil })
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		before, err := sessions.Swap(r.Context(), func(s *Session) error { s.Flash = ""; return nil })
		if err != nil {
			return // answered by Options.ErrorHandler, or by this handler after Commit
		}
		fmt.Fprintf(w, "page (flash: %q)", before.Flash)
	})
	b := newBrowser(sessions.Handler(mux))
	b.visit("POST", "/save") // redirected to / by the client
	b.visit("GET", "/")
	// Output:
	// page (flash: "Saved.")
	// page (flash: "")
}

// Commit saves now and hands a failure (the store down, a session too large for the
// cookie store, a session another request ended) to the handler, which can answer it
// with a page of its own instead of the ErrorHandler's.
func ExampleManager_Commit() {
	type Session struct{ Notes string }
	sessions := newSessions[Session](typedsession.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		sessions.Update(r.Context(), func(s *Session) error { s.Notes = r.FormValue("text"); return nil })
		if err := sessions.Commit(r.Context()); err != nil {
			// Not a 2xx: the handler's own answer stands (see Manager.Handler).
			http.Error(w, "could not save your notes; please try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "saved")
	})
	b := newBrowser(sessions.Handler(mux))
	b.visit("POST", "/notes?text=hello")
	// Output: saved
}

// An audit log of sessions: OnEvent hands each event to a buffer that a goroutine of
// its own writes out, so that a slow log never slows a request. When the buffer is
// full, OnEvent waits for room rather than drop an event.
func ExampleEvent() {
	events := make(chan typedsession.Event, 1024)
	logged := make(chan struct{})
	audit := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable Output below
			}
			return a
		},
	}))
	go func() {
		defer close(logged)
		for e := range events {
			audit.Info("session", "event", e.Kind.String(), "owner", e.Owner, "reason", e.Reason)
		}
	}()

	sessions := newSessions[struct{ User string }](typedsession.Options{
		OnEvent: func(ctx context.Context, e typedsession.Event) {
			if e.Kind != typedsession.StoreCalled { // those are for metrics
				events <- e
			}
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sessions.Put(r.Context(), struct{ User string }{"ada"})
		sessions.SetOwner(r.Context(), "ada")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		sessions.Destroy(r.Context())
	})
	b := newBrowser(sessions.Handler(mux))
	b.visit("POST", "/login")
	b.visit("POST", "/logout")
	close(events)
	<-logged
	// Output:
	// level=INFO msg=session event=created owner=ada reason=""
	// level=INFO msg=session event=owned owner=ada reason=""
	// level=INFO msg=session event=destroyed owner=ada reason=""
}

// Metrics without a dependency: the events counted into expvar, which serves them on
// /debug/vars.
func ExampleEvent_expvar() {
	stats := new(expvar.Map) // expvar.NewMap("sessions") to publish it
	sessions := newSessions[struct{ N int }](typedsession.Options{
		OnEvent: func(ctx context.Context, e typedsession.Event) {
			switch e.Kind {
			case typedsession.StoreCalled:
				stats.Add("store_calls", 1)
				stats.AddFloat("store_seconds", e.Duration.Seconds())
				if e.Err != nil {
					stats.Add("store_errors", 1)
				}
			default:
				stats.Add(strings.ReplaceAll(e.Kind.String(), " ", "_"), 1)
			}
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		sessions.Update(r.Context(), func(v *struct{ N int }) error { v.N++; return nil })
	})
	b := newBrowser(sessions.Handler(mux))
	for range 3 {
		b.visit("POST", "/")
	}
	fmt.Println("created:", stats.Get("created"), "store calls:", stats.Get("store_calls"), "errors:", stats.Get("store_errors"))
	// Output: created: 1 store calls: 5 errors: <nil>
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
