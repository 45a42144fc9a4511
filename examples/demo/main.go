// Command demo is a small shop with typed sessions: log in, fill a cart, log out, and
// see the session as the server keeps it.
//
//	go run ./examples/demo                  # memstore, http://127.0.0.1:8080
//	STORE=redis go run ./examples/demo      # Redis at REDIS_ADDR (default 127.0.0.1:6379)
//	STORE=postgres go run ./examples/demo   # PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test)
//	STORE=mongo go run ./examples/demo      # MongoDB at MONGO_URL (default mongodb://127.0.0.1:27017; .ci/mongo start runs FerretDB there)
//	STORE=cookie go run ./examples/demo     # the whole session sealed in the cookie
//
// It serves plain http for local use, so the cookie is not Secure (Options.Insecure).
package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"html/template"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seed96b21533/typedsession"
)

// Item is one line of the cart.
type Item struct {
	SKU string
	Qty int
}

// Profile is the session's data.
type Profile struct {
	UserID   int64
	Name     string
	Cart     []Item
	Visits   int
	LoggedIn time.Time
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()

	store, closeStore, err := openStore(os.Getenv("STORE"))
	if err != nil {
		log.Fatal(err)
	}
	defer closeStore()

	sessions, err := typedsession.New[Profile](store, typedsession.Options{
		Insecure:    true, // plain http on 127.0.0.1; never in production
		IdleTimeout: 30 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("demo: %s store, http://%s", storeName(os.Getenv("STORE")), *addr)
	log.Fatal(http.ListenAndServe(*addr, newRouter(sessions)))
}

func storeName(s string) string {
	if s == "" {
		return "memory"
	}
	return s
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>typedsession demo</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto} form{display:inline} td,th{padding:.2em .6em;text-align:left}</style></head>
<body>
<h1>typedsession demo</h1>
{{if .P.Name}}
<p>Hello, <b>{{.P.Name}}</b> (user {{.P.UserID}}), logged in at {{.P.LoggedIn.Format "15:04:05"}}.
<form method="post" action="/logout"><button>Log out</button></form></p>
{{else}}
<form method="post" action="/login"><input name="name" placeholder="your name" required> <button>Log in</button></form>
{{end}}
<h2>Cart</h2>
{{if .P.Cart}}<table><tr><th>SKU</th><th>Qty</th></tr>{{range .P.Cart}}<tr><td>{{.SKU}}</td><td>{{.Qty}}</td></tr>{{end}}</table>
<form method="post" action="/cart/clear"><button>Empty the cart</button></form>
{{else}}<p>Empty.</p>{{end}}
<form method="post" action="/cart"><select name="sku"><option>BOOK-9780141439846</option><option>PEN-LAMY-SAFARI</option><option>INK-50ML-BLUEBLK</option></select> <button>Add to cart</button></form>
<h2>The session</h2>
<p>Visits: {{.P.Visits}}. {{if .Expiry.IsZero}}No session is stored yet.{{else}}Ends at {{.Expiry.Format "15:04:05"}} unless used again.{{end}}</p>
{{if .P.Name}}<h2>Your sessions</h2>
{{if .SessionsNote}}<p>{{.SessionsNote}}</p>{{else}}<table><tr><th>Started</th><th>Last seen</th><th>Ends</th><th></th></tr>
{{range .Sessions}}<tr class="session"><td>{{.Created.Format "15:04:05"}}</td><td>{{.LastSeen.Format "15:04:05"}}</td><td>{{.Expiry.Format "15:04:05"}}</td><td>{{if .Current}}this browser{{end}}</td></tr>{{end}}</table>
<form method="post" action="/logout/others"><button>Log out everywhere else</button></form>{{end}}{{end}}
</body></html>`))

func newRouter(sessions *typedsession.Manager[Profile]) http.Handler {
	r := chi.NewRouter()
	r.Use(sessions.Handler)

	fail := func(w http.ResponseWriter, err error) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	back := func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusSeeOther) }

	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		var p Profile
		err := sessions.Update(r.Context(), func(q *Profile) error { q.Visits++; p = *q; return nil })
		if err != nil {
			fail(w, err)
			return
		}
		info, _, err := sessions.Info(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		exp := info.Expiry
		data := struct {
			P            Profile
			Expiry       time.Time
			Sessions     []typedsession.SessionInfo
			SessionsNote string
		}{P: p, Expiry: exp}
		if p.UserID != 0 {
			for info, err := range sessions.Sessions(r.Context(), owner(p)) {
				if errors.Is(err, errors.ErrUnsupported) {
					data.SessionsNote = "This store keeps no server state (the cookie store): it cannot list or end your other sessions."
					break
				}
				if err != nil {
					fail(w, err)
					return
				}
				data.Sessions = append(data.Sessions, info)
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, data)
	})
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		p := Profile{Name: name, UserID: userID(name), LoggedIn: time.Now()}
		err := sessions.Update(r.Context(), func(q *Profile) error {
			q.Name, q.UserID, q.LoggedIn = p.Name, p.UserID, p.LoggedIn
			return nil
		})
		if err == nil {
			// The owner makes the session listable and revocable; a new owner also
			// renews the token, as a login must.
			err = sessions.SetOwner(r.Context(), owner(p))
		}
		if err != nil {
			fail(w, err)
			return
		}
		back(w, r)
	})
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Destroy(r.Context()); err != nil {
			fail(w, err)
			return
		}
		back(w, r)
	})
	r.Post("/logout/others", func(w http.ResponseWriter, r *http.Request) {
		if _, err := sessions.DestroyOthers(r.Context()); err != nil {
			fail(w, err)
			return
		}
		back(w, r)
	})
	r.Post("/cart", func(w http.ResponseWriter, r *http.Request) {
		sku := r.FormValue("sku")
		err := sessions.Update(r.Context(), func(p *Profile) error {
			for i := range p.Cart {
				if p.Cart[i].SKU == sku {
					p.Cart[i].Qty++
					return nil
				}
			}
			p.Cart = append(p.Cart, Item{SKU: sku, Qty: 1})
			return nil
		})
		if err != nil {
			fail(w, err)
			return
		}
		back(w, r)
	})
	r.Post("/cart/clear", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Update(r.Context(), func(p *Profile) error { p.Cart = nil; return nil }); err != nil {
			fail(w, err)
			return
		}
		back(w, r)
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	return r
}

// userID stands in for a user database: the same name is the same user.
func userID(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(h.Sum32()) + 1
}

// owner is the owner of a logged-in user's sessions.
func owner(p Profile) string { return strconv.FormatInt(p.UserID, 10) }
