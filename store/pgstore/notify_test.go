package pgstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

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

	var a, b storetest.Removals
	cancelA := s.Notify(a.Add)
	cancelB := s.Notify(b.Add)
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
	for name, r := range map[string]*storetest.Removals{"first": &a, "second": &b} {
		got := r.Take()
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
	if got := a.Take(); len(got) != 0 {
		t.Errorf("a cancelled function heard %+v; want nothing", got)
	}
	if got := b.Take(); len(got) != 1 || got[0].ID != gone || got[0].Owner != "carol" || got[0].Reason != store.Expired {
		t.Errorf("the function still registered heard %+v; want carol's session %s, expired", got, gone)
	}

	// Everyone cancelled: a plain DELETE again.
	cancelB()
	tr.take()
	create("dave", store.NotEnded, -time.Hour)
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v; want 1, nil", n, err)
	}
	if got := b.Take(); len(got) != 0 {
		t.Errorf("a cancelled function heard %+v; want nothing", got)
	}
	if got := tr.take(); slices.Contains(got, true) {
		t.Errorf("DeleteExpired once every function was cancelled ran DELETE ... RETURNING (returning: %v)", got)
	}
}

// TestNotifyManager checks that a Manager's OnEvent hears of the sessions
// DeleteExpired deletes, as SessionCleaned with their ID and Owner.
func TestNotifyManager(t *testing.T) {
	t.Parallel()
	s := newStore(t, newPool(t, nil), pgstore.Options{})
	storetest.RunCleanupEvents(t, s, s.DeleteExpired)
}
