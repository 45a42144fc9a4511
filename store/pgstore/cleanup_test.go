package pgstore_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// seedExpired inserts n expired rows into table with one statement.
func seedExpired(t testing.TB, db pgstore.DB, table string, n int) {
	t.Helper()
	_, err := db.Exec(context.Background(), `INSERT INTO `+quote(table)+
		` (key, data, expiry, created, version)
		SELECT sha256(int8send(i)), '\x7b7d', now() - interval '1 hour', now() - interval '2 hours', 1
		FROM generate_series(1, $1::bigint) AS i`, n)
	if err != nil {
		t.Fatalf("seeding %d expired rows: %v", n, err)
	}
}

// TestDeleteExpired removes 100k expired rows in batches while other
// goroutines keep reading live sessions, which must be found throughout.
func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	const expired = 100_000
	pool := newPool(t, nil)
	table := uniqueTable()
	s := newStore(t, pool, pgstore.Options{Table: table, BatchSize: 5000})
	kv, ctx := s.KVStore.KV, t.Context()
	seedExpired(t, pool, table, expired)

	live := make([]string, 16)
	for i := range live {
		live[i] = key(t)
		if err := kv.Create(ctx, live[i], record("live", 1, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	var reads, misses atomic.Int64
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, found, err := kv.Get(ctx, live[i%len(live)])
				if err != nil || !found {
					misses.Add(1)
					t.Errorf("Get(live session) during cleanup = found %v, err %v", found, err)
				}
				reads.Add(1)
			}
		})
	}
	n, err := s.DeleteExpired(ctx)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != expired {
		t.Errorf("DeleteExpired() = %d, want %d", n, expired)
	}
	all, left := countRows(t, pool, table)
	if left != 0 || all != int64(len(live)) {
		t.Errorf("after DeleteExpired: %d rows, %d expired; want %d live, 0 expired", all, left, len(live))
	}
	t.Logf("%d reads of live sessions during cleanup, %d failed", reads.Load(), misses.Load())
}

// TestDeleteExpiredConcurrently runs DeleteExpired from several "instances" at
// once: every expired row is deleted exactly once, and none of them fails.
func TestDeleteExpiredConcurrently(t *testing.T) {
	t.Parallel()
	const expired = 20_000
	pool := newPool(t, nil)
	table := uniqueTable()
	seed := newStore(t, pool, pgstore.Options{Table: table})
	seedExpired(t, pool, table, expired)
	live := key(t)
	if err := seed.KVStore.KV.Create(t.Context(), live, record("live", 1, time.Hour)); err != nil {
		t.Fatal(err)
	}

	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		s := mustNew(t, pool, pgstore.Options{Table: table, BatchSize: 500})
		wg.Go(func() {
			n, err := s.DeleteExpired(t.Context())
			if err != nil {
				t.Errorf("DeleteExpired: %v", err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if _, left := countRows(t, pool, table); left != 0 {
		t.Errorf("%d expired rows left", left)
	}
	if got := total.Load(); got != expired {
		t.Errorf("DeleteExpired deleted %d in total, want %d", got, expired)
	}
	if _, found, err := seed.KVStore.KV.Get(t.Context(), live); !found || err != nil {
		t.Errorf("Get(live) = found %v, err %v; want found", found, err)
	}
}

// TestDeleteExpiredCancelled checks that DeleteExpired honours its context.
func TestDeleteExpiredCancelled(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	table := uniqueTable()
	s := newStore(t, pool, pgstore.Options{Table: table})
	seedExpired(t, pool, table, 10)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DeleteExpired(ctx); err == nil {
		t.Error("DeleteExpired with a cancelled context: err = nil")
	}
	if _, left := countRows(t, pool, table); left != 10 {
		t.Errorf("%d expired rows left, want 10 untouched", left)
	}
}

// TestStartCleanup checks that the background cleanup deletes expired rows, that
// Close may be called again (or without a cleanup), and that Close stops it: Close
// cancels the statement of a running iteration and returns once it has ended, and
// no statement starts after. The statement Close interrupts is held by a tracer before
// it is sent, so that nothing the server has received can run after Close: a statement
// already sent may still complete on the server (see Store.Close), which made an
// earlier version of this test flaky.
func TestStartCleanup(t *testing.T) {
	t.Parallel()
	tr := &cleanupTracer{held: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := poolConfig(t)
	cfg.ConnConfig.Tracer = tr
	pool := newPool(t, cfg)
	table := uniqueTable()
	s := newStore(t, pool, pgstore.Options{Table: table})
	// Should Close not stop the cleanup, the held statement is let go at the end.
	t.Cleanup(func() { close(tr.release) })
	if err := s.Close(); err != nil { // nothing started
		t.Errorf("Close before StartCleanup: %v", err)
	}
	seedExpired(t, pool, table, 1000)
	s.StartCleanup(time.Hour)
	s.StartCleanup(5 * time.Millisecond) // replaces the first
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, left := countRows(t, pool, table); left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background cleanup did not delete the expired rows within 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling, not ordering
	}

	// Hold the next statement of the cleanup, then Close while it is held.
	tr.hold.Store(true)
	select {
	case <-tr.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the background cleanup ran no statement within 30s")
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	started, ended := tr.started.Load(), tr.ended.Load()
	if started != ended {
		t.Errorf("Close returned with %d of the cleanup's %d statements still running", started-ended, started)
	}

	// Stopped: new expired rows stay, and no statement starts. The cleanup's ticker
	// runs on real time, which no test clock reaches: ten of its intervals pass here.
	// A Close that stopped nothing fails below; a correct one passes however long this
	// takes.
	seedExpired(t, pool, table, 10)
	time.Sleep(50 * time.Millisecond)
	if _, left := countRows(t, pool, table); left != 10 {
		t.Errorf("after Close, %d expired rows left; want the 10 new ones untouched", left)
	}
	if n := tr.started.Load(); n != started {
		t.Errorf("%d statements of the cleanup started after Close returned", n-started)
	}
}

// cleanupTracer counts the statements of DeleteExpired that a pool runs and, once hold
// is set, holds each before it is sent until its context is cancelled (or release is
// closed).
type cleanupTracer struct {
	started, ended atomic.Int64
	hold           atomic.Bool
	held           chan struct{} // receives when a statement is held, if there is room
	release        chan struct{}
}

type deleteExpiredKey struct{}

// TraceQueryStart implements pgx.QueryTracer.
func (tr *cleanupTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !strings.HasPrefix(data.SQL, "DELETE FROM") || !strings.Contains(data.SQL, "expiry <=") {
		return ctx
	}
	tr.started.Add(1)
	if tr.hold.Load() {
		select {
		case tr.held <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done(): // pgx then sends nothing: the context is done
		case <-tr.release:
		}
	}
	return context.WithValue(ctx, deleteExpiredKey{}, true)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (tr *cleanupTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ctx.Value(deleteExpiredKey{}) != nil {
		tr.ended.Add(1)
	}
}
