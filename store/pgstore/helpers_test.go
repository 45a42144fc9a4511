package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// pgURL is the PostgreSQL the tests use.
var pgURL = testenv.Getenv("PG_URL", "postgres://postgres@127.0.0.1:5432/test")

// poolConfig returns the configuration of a pool on pgURL, or ends the test.
func poolConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgURL)
	if err != nil {
		t.Fatalf("PG_URL %q: %v", pgURL, err)
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	return cfg
}

// newPool connects a pool with cfg (nil: the defaults) and closes it when the
// test ends. A PostgreSQL that cannot be reached ends the test through
// testenv.Unavailable.
func newPool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	if cfg == nil {
		cfg = poolConfig(t)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgxpool.NewWithConfig: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		testenv.Unavailable(t, "PostgreSQL at "+pgURL, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// uniqueTable returns a table name no other test uses.
func uniqueTable() string {
	var b [6]byte
	rand.Read(b[:])
	return "public.sessions_" + hex.EncodeToString(b[:])
}

// newStore returns a Store over db on a table of its own, migrated, and drops
// the table when the test ends.
// mustNew returns pgstore.New(db, opts), which must succeed.
func mustNew(t testing.TB, db pgstore.DB, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB, db pgstore.DB, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	if opts.Table == "" {
		opts.Table = uniqueTable()
	}
	s := mustNew(t, db, opts)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		if _, err := db.Exec(context.Background(), "DROP TABLE IF EXISTS "+quote(opts.Table)); err != nil {
			t.Errorf("dropping %s: %v", opts.Table, err)
		}
	})
	return s
}

// testSchema creates the schema pgstore_test, which tests share, unless it exists.
// CREATE SCHEMA IF NOT EXISTS alone fails when it runs at once with another (a
// duplicate key in pg_namespace): an advisory lock, held to the end of the implicit
// transaction of the two statements, makes parallel tests take turns.
func testSchema(t testing.TB, db pgstore.DB) {
	t.Helper()
	_, err := db.Exec(context.Background(), `SELECT pg_advisory_xact_lock(hashtext('typedsession/pgstore tests: schema'));`+
		` CREATE SCHEMA IF NOT EXISTS pgstore_test`)
	if err != nil {
		t.Fatalf("creating the schema pgstore_test: %v", err)
	}
}

// quote quotes a table name the way pgstore does.
func quote(table string) string {
	return pgx.Identifier(strings.Split(table, ".")).Sanitize()
}

// key returns a fresh KV key.
func key(testing.TB) string { return storetest.NewKey() }

// record returns a live record as the Manager makes them (whole milliseconds).
func record(data string, version uint64, ttl time.Duration) store.Record {
	now := time.Now().Truncate(time.Millisecond)
	return store.Record{
		Data:    []byte(data),
		Expiry:  now.Add(ttl),
		Created: now,
		Version: version,
	}
}

// sameRecord reports whether a and b hold the same fields.
func sameRecord(a, b store.Record) bool { return storetest.Diff(a, b) == "" }

// countRows returns the rows of table, and those of them expired.
func countRows(t testing.TB, db pgstore.DB, table string) (all, expired int64) {
	t.Helper()
	err := db.QueryRow(context.Background(),
		"SELECT count(*), count(*) FILTER (WHERE expiry <= $1) FROM "+quote(table), time.Now()).
		Scan(&all, &expired)
	if err != nil {
		t.Fatalf("counting rows of %s: %v", table, err)
	}
	return all, expired
}
