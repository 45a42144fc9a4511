package typedsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/seed96b21533/typedsession"
)

// BenchmarkLifecycle measures what Options.OnEvent and Options.MaxOwnerSessions cost a
// request, on memstore with the default JSON codec: hook=none has neither, hook=count
// has an OnEvent that counts events (the cheapest consumer, so the numbers are the
// Manager's own cost of building and handing them over), limit=5 caps each owner at
// five sessions. op=read reads a session, op=write changes it, op=new creates one,
// op=login creates one and gives it an owner (one of 64, so the limit ends sessions).
func BenchmarkLifecycle(b *testing.B) {
	for _, hook := range []string{"none", "count"} {
		for _, limit := range []int{0, 5} {
			for _, op := range []string{"read", "write", "new", "login"} {
				if limit != 0 && op != "login" {
					continue // the limit is checked at login only
				}
				name := "hook=" + hook + "/limit=" + strconv.Itoa(limit) + "/op=" + op
				b.Run(name, func(b *testing.B) {
					var events atomic.Int64
					opts := typedsession.Options{MaxOwnerSessions: limit, Insecure: true}
					if hook == "count" {
						opts.OnEvent = func(context.Context, typedsession.Event) { events.Add(1) }
					}
					benchLifecycleOp(b, opts, op)
					if hook == "count" && op != "read" && events.Load() == 0 {
						b.Fatalf("op=%s reported no event", op)
					}
				})
			}
		}
	}
}

func benchLifecycleOp(b *testing.B, opts typedsession.Options, op string) {
	m, err := typedsession.New[user](newMemstore(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	var n int
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		switch op {
		case "read":
			var u user
			if u, err = m.Get(ctx); err == nil && u.Name == "" {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
		case "write", "new":
			err = m.Update(ctx, func(u *user) error { u.ID++; u.Name = "Ada"; return nil })
		case "login":
			n++
			if err = m.Put(ctx, user{Name: "Ada"}); err == nil {
				err = m.SetOwner(ctx, "user-"+strconv.Itoa(n%64))
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	// The session of read and write, made through the library itself.
	var cookie *http.Cookie
	if op == "read" || op == "write" {
		b.StopTimer()
		seed := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := m.Put(r.Context(), user{ID: 1, Name: "Ada"}); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}))
		cookies := serve(seed, nil).Result().Cookies()
		if len(cookies) != 1 {
			b.Fatalf("seeding: %d cookies", len(cookies))
		}
		cookie = cookies[0]
		b.StartTimer()
	}
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
