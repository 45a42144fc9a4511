package storetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// RunCleanupEvents checks that a Manager over st hears, through Options.OnEvent, of
// the sessions the store's cleanup deletes: SessionCleaned once per session, with its
// ID and Owner. st must implement [store.Notifier]; cleanup runs the store's cleanup
// once (its DeleteExpired, say) and returns how many sessions it deleted.
//
// The Manager's clock runs two hours behind the store's, so that the two sessions it
// creates, with a lifetime of an hour, have expired by the store's clock (longer ago
// than any grace the store keeps) when cleanup runs.
func RunCleanupEvents(t *testing.T, st store.Store, cleanup func(context.Context) (int, error)) {
	t.Helper()
	var mu sync.Mutex
	cleaned := map[string]string{} // ID: Owner
	m, err := typedsession.New[int](st, typedsession.Options{
		Now:      func() time.Time { return time.Now().Add(-2 * time.Hour) },
		Lifetime: time.Hour,
		Logger:   testLogger(t),
		OnEvent: func(_ context.Context, e typedsession.Event) {
			if e.Kind != typedsession.SessionCleaned {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := cleaned[e.ID]; dup {
				t.Errorf("session %s reported cleaned twice", e.ID)
			}
			cleaned[e.ID] = e.Owner
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := m.Put(r.Context(), 1)
		if owner := r.FormValue("owner"); owner != "" && err == nil {
			err = m.SetOwner(r.Context(), owner)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	want := map[string]string{}
	for _, owner := range []string{"", "erin"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/?owner="+owner, nil))
		cookies := w.Result().Cookies()
		if w.Code != http.StatusOK || len(cookies) != 1 {
			t.Fatalf("creating a session (owner %q): status %d, cookies %v; want 200 and one cookie", owner, w.Code, cookies)
		}
		want[store.ID(cookies[0].Value)] = owner
	}
	if n, err := cleanup(t.Context()); err != nil || n != 2 {
		t.Fatalf("cleanup() = %d, %v; want 2, nil", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cleaned) != len(want) {
		t.Errorf("OnEvent heard SessionCleaned for %v; want %v", cleaned, want)
	}
	for id, owner := range want {
		if got, ok := cleaned[id]; !ok || got != owner {
			t.Errorf("SessionCleaned of %s: heard %v, owner %q; want owner %q", id, ok, got, owner)
		}
	}
}
