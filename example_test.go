package typedsession_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
)

type Item struct {
	SKU string
	Qty int
}

type Profile struct {
	UserID int64
	Name   string
	Cart   []Item
}

// The quick start: one Manager per kind of session, its Handler as chi middleware, and
// the typed helpers in the handlers.
func Example() {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		panic(err)
	}
	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
	if err != nil {
		panic(err)
	}

	r := chi.NewRouter()
	r.Use(sessions.Handler)
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		err := sessions.Put(r.Context(), Profile{UserID: 42, Name: "Napoleon"})
		if err == nil {
			err = sessions.Renew(r.Context()) // a new token on every change of privilege
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	r.Post("/cart", func(w http.ResponseWriter, r *http.Request) {
		err := sessions.Update(r.Context(), func(p *Profile) error {
			p.Cart = append(p.Cart, Item{SKU: r.FormValue("sku"), Qty: 1})
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		p, err := sessions.Get(r.Context()) // the zero Profile when there is no session
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%q has %d item(s) in the cart", p.Name, len(p.Cart))
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})

	srv := httptest.NewTLSServer(r)
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for _, step := range []struct{ method, path string }{
		{"GET", "/"}, {"POST", "/login"}, {"POST", "/cart?sku=BOOK"}, {"POST", "/cart?sku=PEN"}, {"GET", "/"}, {"POST", "/logout"}, {"GET", "/"},
	} {
		req, _ := http.NewRequest(step.method, srv.URL+step.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) > 0 {
			fmt.Println(string(body))
		}
	}
	// Output:
	// "" has 0 item(s) in the cart
	// "Napoleon" has 2 item(s) in the cart
	// "" has 0 item(s) in the cart
}

// A handler can be unit-tested without the middleware and without a store:
// WithSession puts an in-memory session in the request's context.
func ExampleManager_WithSession() {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		panic(err)
	}
	sessions, _ := typedsession.New[Profile](st, typedsession.Options{})
	greet := func(w http.ResponseWriter, r *http.Request) {
		p, _ := sessions.Get(r.Context())
		fmt.Fprintf(w, "Hello, %s", p.Name)
	}

	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(sessions.WithSession(req.Context(), Profile{Name: "Ada"}))
	w := httptest.NewRecorder()
	greet(w, req)
	fmt.Println(w.Body.String())
	// Output: Hello, Ada
}

// An API client carries the token in a header instead of a cookie.
func ExampleOptions_header() {
	st, err := memstore.New(memstore.Options{})
	if err != nil {
		panic(err)
	}
	sessions, _ := typedsession.New[Profile](st, typedsession.Options{Header: "X-Session-Token"})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			sessions.Put(r.Context(), Profile{Name: "Ada"})
			return
		}
		p, _ := sessions.Get(r.Context())
		io.WriteString(w, p.Name)
	}))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	token := w.Header().Get("X-Session-Token")

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Session-Token", token)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(len(token), w.Body.String())
	// Output: 43 Ada
}

// Info describes the request's session for an account page. NewTesting makes a Manager
// without a store, and WithSession seeds a request's session, for a unit test of a
// handler.
func ExampleManager_Info() {
	sessions, err := typedsession.NewTesting[Profile](typedsession.Options{})
	if err != nil {
		panic(err)
	}
	ctx := sessions.WithSession(context.Background(), Profile{Name: "Ada"})
	if err := sessions.SetOwner(ctx, "user-42"); err != nil {
		panic(err)
	}
	info, ok, err := sessions.Info(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(ok, info.Owner, info.RememberMe, time.Until(info.Expiry).Round(time.Hour))
	// Output: true user-42 false 24h0m0s
}
