package memstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// TestNotify checks that the sessions a Store removes on its own reach a Manager's
// OnEvent: evicted to make room, and removed by DeleteExpired after they expired; a
// session the Manager ends is reported once, by the Manager, and markers never.
func TestNotify(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{MaxSessions: 4, Now: c.Now})
	var mu sync.Mutex
	kinds := map[typedsession.EventKind]int{}
	owners := map[string]bool{}
	m, err := typedsession.New[int](s, typedsession.Options{
		Now:         c.Now,
		IdleTimeout: time.Minute,
		OnEvent: func(_ context.Context, e typedsession.Event) {
			mu.Lock()
			defer mu.Unlock()
			kinds[e.Kind]++
			if e.Kind == typedsession.SessionEvicted || e.Kind == typedsession.SessionCleaned {
				owners[e.Owner] = true
				if e.ID == "" || e.Time.IsZero() {
					t.Errorf("event %+v: want an ID and a time", e)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Put(r.Context(), 1)
		if owner := r.FormValue("owner"); owner != "" {
			m.SetOwner(r.Context(), owner)
		}
	}))
	create := func(owner string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/?owner="+owner, nil))
	}
	for range 4 {
		create("")
	}
	create("") // the fifth evicts one
	if got := kinds[typedsession.SessionEvicted]; got != 1 {
		t.Errorf("%d sessions evicted reported for one Create into a full store; want 1", got)
	}
	c.Add(2 * time.Minute) // past every idle deadline
	n, err := s.DeleteExpired(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds[typedsession.SessionCleaned]; got != n || n != 4 {
		t.Errorf("DeleteExpired removed %d; %d cleaned reported, want 4 and 4", n, got)
	}

	// A session the Manager destroys is reported by the Manager; its marker, removed by
	// the cleanup, is not reported again.
	before := kinds[typedsession.SessionCleaned]
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	cookie := w.Result().Cookies()[0]
	destroy := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Destroy(r.Context()) }))
	req := httptest.NewRequest("POST", "/", nil)
	req.AddCookie(cookie)
	destroy.ServeHTTP(httptest.NewRecorder(), req)
	c.Add(2 * time.Minute)
	s.DeleteExpired(t.Context())
	if got := kinds[typedsession.SessionCleaned] - before; got != 0 {
		t.Errorf("the cleanup of a destroyed session's marker reported %d cleaned; want 0", got)
	}
	if kinds[typedsession.SessionDestroyed] != 1 {
		t.Errorf("%d destroyed reported; want 1", kinds[typedsession.SessionDestroyed])
	}
}

// TestNotifyManager checks that a Manager's OnEvent hears of the sessions
// DeleteExpired deletes, as SessionCleaned with their ID and Owner.
func TestNotifyManager(t *testing.T) {
	s := newStore(t, memstore.Options{})
	storetest.RunCleanupEvents(t, s, s.DeleteExpired)
}
