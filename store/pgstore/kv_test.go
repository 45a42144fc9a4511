package pgstore_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// execModes are the pgx exec modes the KV is checked in: the default, and the
// two that work behind PgBouncer in transaction mode (no server-side
// prepared statement outlives its transaction).
var execModes = []struct {
	name string
	mode pgx.QueryExecMode
}{
	{"mode=cache-statement", pgx.QueryExecModeCacheStatement},
	{"mode=cache-describe", pgx.QueryExecModeCacheDescribe},
	{"mode=simple-protocol", pgx.QueryExecModeSimpleProtocol},
}

func modePool(t *testing.T, mode pgx.QueryExecMode) *pgxpool.Pool {
	t.Helper()
	cfg := poolConfig(t)
	cfg.ConnConfig.DefaultQueryExecMode = mode
	return newPool(t, cfg)
}

// TestKVBehaviour checks the KV contract statement by statement, in every exec
// mode, including the edges of the Record encoding (nil Data, zero Created,
// the largest Version, an Owner).
func TestKVBehaviour(t *testing.T) {
	t.Parallel()
	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			kv := newStore(t, modePool(t, m.mode), pgstore.Options{}).KVStore.KV
			checkKV(t, kv)
		})
	}
}

func checkKV(t *testing.T, kv store.KV) {
	ctx := t.Context()
	k := key(t)

	if _, found, err := kv.Get(ctx, k); found || err != nil {
		t.Fatalf("Get(missing) = found %v, err %v; want not found, nil", found, err)
	}
	rec := record(`{"n":1}`, 1, time.Hour)
	rec.Owner, rec.RememberMe = "user:42", true
	if err := kv.Create(ctx, k, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, found, err := kv.Get(ctx, k)
	if err != nil || !found || !sameRecord(got, rec) {
		t.Fatalf("Get after Create = %+v, %v, %v; want %+v", got, found, err, rec)
	}

	// Create never overwrites a live record.
	if err := kv.Create(ctx, k, record("other", 9, time.Hour)); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Create over a live record: err = %v, want ErrConflict", err)
	}

	// Update with a stale version changes nothing.
	next := record(`{"n":2}`, 2, 2*time.Hour)
	if err := kv.Update(ctx, k, 7, next); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update(stale version) err = %v, want ErrConflict", err)
	}
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, rec) {
		t.Errorf("after a stale Update, Get = %+v, want %+v", got, rec)
	}
	// Update with the version read replaces every field (the owner goes too).
	if err := kv.Update(ctx, k, 1, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, next) {
		t.Errorf("after Update, Get = %+v, want %+v", got, next)
	}

	// Touch moves the last activity and the expiry only.
	exp, active := next.Expiry.Add(time.Hour), next.Created.Add(time.Second)
	if err := kv.Touch(ctx, k, active, exp); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	want := next
	want.Active, want.Expiry = active, exp
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, want) {
		t.Errorf("after Touch, Get = %+v, want %+v", got, want)
	}

	// Delete, twice; then nothing brings it back.
	for range 2 {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := kv.Update(ctx, k, 2, next); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update after Delete err = %v, want ErrConflict", err)
	}
	if err := kv.Touch(ctx, k, active, exp); err != nil {
		t.Errorf("Touch after Delete: %v", err)
	}
	if _, found, err := kv.Get(ctx, k); found || err != nil {
		t.Errorf("Get after Delete = found %v, err %v; want not found", found, err)
	}

	// Edges of the record: nil Data, zero Created, the largest Version.
	k2 := key(t)
	edge := store.Record{Expiry: time.Now().Add(time.Hour).Truncate(time.Millisecond), Version: math.MaxUint64}
	if err := kv.Create(ctx, k2, edge); err != nil {
		t.Fatalf("Create(edge record): %v", err)
	}
	got, found, err = kv.Get(ctx, k2)
	if err != nil || !found || !sameRecord(got, edge) || !got.Created.IsZero() {
		t.Errorf("Get(edge record) = %+v, %v, %v; want %+v", got, found, err, edge)
	}
	if err := kv.Update(ctx, k2, math.MaxUint64, record("x", 0, time.Hour)); err != nil {
		t.Errorf("Update from the largest Version: %v", err)
	}
}

// TestExpired checks that an expired row, still in the table, is never
// returned, updated or touched, and that Create may replace it.
func TestExpired(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	table := uniqueTable()
	s := newStore(t, pool, pgstore.Options{Table: table})
	kv, ctx := s.KVStore.KV, t.Context()
	k := key(t)
	old := record("old", 5, -time.Second) // expired a second ago, no cleanup ran
	if err := kv.Create(ctx, k, old); err != nil {
		t.Fatal(err)
	}
	if all, _ := countRows(t, pool, table); all != 1 {
		t.Fatalf("rows = %d, want the expired row kept", all)
	}
	if _, found, err := kv.Get(ctx, k); found || err != nil {
		t.Errorf("Get(expired) = found %v, err %v; want not found", found, err)
	}
	if err := kv.Update(ctx, k, 5, record("new", 6, time.Hour)); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update(expired) err = %v, want ErrConflict", err)
	}
	if err := kv.Touch(ctx, k, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch(expired): %v", err)
	}
	if _, found, _ := kv.Get(ctx, k); found {
		t.Error("Touch brought an expired record back")
	}
	fresh := record("fresh", 1, time.Hour)
	if err := kv.Create(ctx, k, fresh); err != nil {
		t.Fatalf("Create over an expired row: %v", err)
	}
	if got, found, _ := kv.Get(ctx, k); !found || !sameRecord(got, fresh) {
		t.Errorf("Get after Create over an expired row = %+v, %v; want %+v", got, found, fresh)
	}
}

// TestDBKinds checks that a *pgx.Conn and a pgx.Tx serve as a DB: a session
// created in a rolled-back transaction is gone.
func TestDBKinds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	newPool(t, nil) // skips or fails without PostgreSQL
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	table := uniqueTable()
	s := newStore(t, conn, pgstore.Options{Table: table})
	checkKV(t, s.KVStore.KV)

	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inTx := mustNew(t, tx, pgstore.Options{Table: table})
	k := key(t)
	if err := inTx.KVStore.KV.Create(ctx, k, record("tx", 1, time.Hour)); err != nil {
		t.Fatalf("Create in a Tx: %v", err)
	}
	if _, found, err := inTx.KVStore.KV.Get(ctx, k); !found || err != nil {
		t.Fatalf("Get in the Tx = found %v, err %v; want found", found, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.KVStore.KV.Get(ctx, k); found || err != nil {
		t.Errorf("Get after Rollback = found %v, err %v; want not found", found, err)
	}
}

// TestCancelled checks that a cancelled context makes an operation fail,
// never succeed halfway nor report not found.
func TestCancelled(t *testing.T) {
	t.Parallel()
	s := newStore(t, newPool(t, nil), pgstore.Options{})
	kv := s.KVStore.KV
	k := key(t)
	rec := record("before", 1, time.Hour)
	if err := kv.Create(t.Context(), k, rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := kv.Update(ctx, k, 1, record("after", 2, time.Hour)); err == nil {
		t.Error("Update with a cancelled context succeeded")
	}
	if _, found, err := kv.Get(ctx, k); err == nil || found {
		t.Errorf("Get with a cancelled context = found %v, err %v; want an error", found, err)
	}
	if got, found, err := kv.Get(t.Context(), k); err != nil || !found || !sameRecord(got, rec) {
		t.Errorf("after a cancelled Update, Get = %+v, %v, %v; want %+v unchanged", got, found, err, rec)
	}
}

// TestErrorsAreNotNotFound checks that a failing database is an error, never
// not found.
func TestErrorsAreNotNotFound(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	kv := mustNew(t, pool, pgstore.Options{Table: uniqueTable()}).KVStore.KV // never migrated
	_, found, err := kv.Get(t.Context(), key(t))
	if err == nil || found {
		t.Errorf("Get on a missing table = found %v, err %v; want an error", found, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "pgstore: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	if err := kv.Create(t.Context(), key(t), record("x", 1, time.Hour)); err == nil || errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Create on a missing table err = %v; want an error that is not ErrConflict", err)
	}
	if err := kv.Update(t.Context(), key(t), 1, record("x", 2, time.Hour)); err == nil || errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update on a missing table err = %v; want an error that is not ErrConflict", err)
	}
}
