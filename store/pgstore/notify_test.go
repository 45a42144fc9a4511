package pgstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// removals collects what a function registered with Notify hears.
type removals struct {
	mu  sync.Mutex
	got []store.Removal
}

func (r *removals) add(rm store.Removal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rm)
}

// take returns what was heard since the last take, sorted by ID.
func (r *removals) take() []store.Removal {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	slices.SortFunc(got, func(a, b store.Removal) int { return strings.Compare(a.ID, b.ID) })
	return got
}

// deleteTracer records whether each DELETE statement a pool runs returns rows.
type deleteTracer struct {
	mu        sync.Mutex
	returning []bool
}

func (tr *deleteTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(data.SQL, "DELETE FROM") {
		tr.mu.Lock()
		tr.returning = append(tr.returning, strings.Contains(data.SQL, "RETURNING"))
		tr.mu.Unlock()
	}
	return ctx
}

func (tr *deleteTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns what was recorded since the last take.
func (tr *deleteTracer) take() []bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	got := tr.returning
	tr.returning = nil
	return got
}

// TestNotify checks what the functions registered with Notify hear of DeleteExpired:
// every expired session it deletes (ID, Owner, store.Expired, a Time), never a marker
// nor a live session, each registered function all of it, a cancelled one nothing;
// and that DeleteExpired asks for the deleted rows only while someone listens.
func TestNotify(t *testing.T) {
	t.Parallel()
	tr := &deleteTracer{}
	cfg := poolConfig(t)
	cfg.ConnConfig.Tracer = tr
	pool := newPool(t, cfg)
	// Batches of two: the four expired rows take three statements.
	s := newStore(t, pool, pgstore.Options{BatchSize: 2})
	kv, ctx := s.KV, t.Context()
	create := func(owner string, ended store.EndReason, ttl time.Duration) string {
		t.Helper()
		k := key(t)
		rec := record("x", 1, ttl)
		rec.Owner, rec.Ended = owner, ended
		if ended != store.NotEnded {
			rec.Data = nil
		}
		if err := kv.Create(ctx, k, rec); err != nil {
			t.Fatal(err)
		}
		return k
	}

	// Nobody listens: a plain DELETE, and nothing to hear.
	create("alice", store.NotEnded, -time.Hour)
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v; want 1, nil", n, err)
	}
	if got := tr.take(); slices.Contains(got, true) {
		t.Errorf("DeleteExpired without a function registered ran DELETE ... RETURNING (returning: %v)", got)
	}

	var a, b removals
	cancelA := s.Notify(a.add)
	cancelB := s.Notify(b.add)
	want := []store.Removal{
		{ID: store.KeyID(create("alice", store.NotEnded, -time.Hour)), Owner: "alice", Reason: store.Expired},
		{ID: store.KeyID(create("", store.NotEnded, -time.Second)), Reason: store.Expired},
		{ID: store.KeyID(create("bob", store.NotEnded, -time.Minute)), Owner: "bob", Reason: store.Expired},
	}
	slices.SortFunc(want, func(a, b store.Removal) int { return strings.Compare(a.ID, b.ID) })
	create("alice", store.Destroyed, -time.Hour)       // an expired marker: deleted, not reported
	live := create("alice", store.NotEnded, time.Hour) // not deleted, not reported

	before := time.Now()
	n, err := s.DeleteExpired(ctx)
	after := time.Now()
	if err != nil || n != 4 {
		t.Fatalf("DeleteExpired() = %d, %v; want 4 (three sessions and a marker), nil", n, err)
	}
	if got := tr.take(); len(got) == 0 || slices.Contains(got, false) {
		t.Errorf("DeleteExpired with functions registered: returning per statement %v; want every DELETE to return its rows", got)
	}
	for name, r := range map[string]*removals{"first": &a, "second": &b} {
		got := r.take()
		for i := range got {
			if got[i].Time.Before(before) || got[i].Time.After(after) {
				t.Errorf("%s function: %+v: Time not within the call of DeleteExpired [%v, %v]", name, got[i], before, after)
			}
			got[i].Time = time.Time{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s function heard %+v;\nwant the three expired sessions (no marker, no live session) %+v", name, got, want)
		}
	}
	if _, found, err := kv.Get(ctx, live); !found || err != nil {
		t.Errorf("Get(live) = found %v, err %v; want found", found, err)
	}

	// A cancelled function hears nothing more; the other still does.
	cancelA()
	cancelA() // a second cancel does nothing
	gone := store.KeyID(create("carol", store.NotEnded, -time.Hour))
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v; want 1, nil", n, err)
	}
	if got := a.take(); len(got) != 0 {
		t.Errorf("a cancelled function heard %+v; want nothing", got)
	}
	if got := b.take(); len(got) != 1 || got[0].ID != gone || got[0].Owner != "carol" || got[0].Reason != store.Expired {
		t.Errorf("the function still registered heard %+v; want carol's session %s, expired", got, gone)
	}

	// Everyone cancelled: a plain DELETE again.
	cancelB()
	tr.take()
	create("dave", store.NotEnded, -time.Hour)
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v; want 1, nil", n, err)
	}
	if got := b.take(); len(got) != 0 {
		t.Errorf("a cancelled function heard %+v; want nothing", got)
	}
	if got := tr.take(); slices.Contains(got, true) {
		t.Errorf("DeleteExpired once every function was cancelled ran DELETE ... RETURNING (returning: %v)", got)
	}
}

// TestNotifyManager checks that a Manager's OnEvent hears of the sessions
// DeleteExpired deletes, as SessionCleaned with their ID and Owner. The Manager's
// clock runs two hours behind, so that the sessions it creates, with a lifetime of
// an hour, have expired by the store's clock.
func TestNotifyManager(t *testing.T) {
	t.Parallel()
	s := newStore(t, newPool(t, nil), pgstore.Options{})
	var mu sync.Mutex
	cleaned := map[string]string{} // ID: Owner
	m, err := typedsession.New[int](s, typedsession.Options{
		Now:      func() time.Time { return time.Now().Add(-2 * time.Hour) },
		Lifetime: time.Hour,
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
		m.Put(r.Context(), 1)
		if owner := r.FormValue("owner"); owner != "" {
			m.SetOwner(r.Context(), owner)
		}
	}))
	want := map[string]string{}
	for _, owner := range []string{"", "erin"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/?owner="+owner, nil))
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("creating a session (owner %q): cookies %v; want one", owner, cookies)
		}
		want[store.ID(cookies[0].Value)] = owner
	}
	if n, err := s.DeleteExpired(t.Context()); err != nil || n != 2 {
		t.Fatalf("DeleteExpired() = %d, %v; want 2, nil", n, err)
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
