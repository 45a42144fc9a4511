package pgstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// TestMigrate checks that Migrate is safe when instances run it at once, on a new
// table and on one they made, and that it creates the columns and indexes the docs
// describe.
func TestMigrate(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	table := uniqueTable()
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+quote(table)) })
	stores := make([]*pgstore.Store, 4)
	for i := range stores {
		stores[i] = mustNew(t, pool, pgstore.Options{Table: table})
	}
	for _, when := range []string{"on a new table", "again"} {
		migrateAtOnce(t, stores, when)
	}
	var n int
	err := pool.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`,
		strings.TrimPrefix(table, "public.")).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("indexes = %d, %v; want 3 (primary key, expiry, owner)", n, err)
	}
	var cols []string
	rows, err := pool.Query(t.Context(), `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
		strings.TrimPrefix(table, "public."))
	if err == nil {
		cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if want := []string{"key", "data", "expiry", "created", "active", "version", "owner", "persist", "ended"}; err != nil || !slices.Equal(cols, want) {
		t.Errorf("columns = %q, %v; want %q", cols, err, want)
	}
}

// migrateAtOnce runs Migrate on every store at once, and requires each to succeed.
func migrateAtOnce(t *testing.T, stores []*pgstore.Store, when string) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, len(stores))
	for _, s := range stores {
		go func() {
			<-start
			errs <- s.Migrate(t.Context())
		}()
	}
	close(start)
	for range stores {
		if err := <-errs; err != nil {
			t.Errorf("Migrate from %d instances at once, %s: %v", len(stores), when, err)
		}
	}
}

// TestTableNames checks that names needing quotes, and schema-qualified ones,
// work, and that a malformed name panics in New.
func TestTableNames(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	ctx := t.Context()
	testSchema(t, pool)
	for _, table := range []string{
		"pgstore_test.Sessions " + strings.TrimPrefix(uniqueTable(), "public."),
		`weird"name;drop ` + strings.TrimPrefix(uniqueTable(), "public."),
	} {
		s := newStore(t, pool, pgstore.Options{Table: table})
		k := key(t)
		if err := s.KVStore.KV.Create(ctx, k, record("x", 1, time.Hour)); err != nil {
			t.Errorf("Create in %q: %v", table, err)
		}
		if all, _ := countRows(t, pool, table); all != 1 {
			t.Errorf("rows in %q = %d, want 1", table, all)
		}
	}
	for _, bad := range []string{"a..b", "a.b.c", ".x", "x."} {
		if _, err := pgstore.New(pool, pgstore.Options{Table: bad}); err == nil || !strings.HasPrefix(err.Error(), "pgstore: ") {
			t.Errorf("New with table %q: err = %v, want a pgstore: error", bad, err)
		}
		if _, err := pgstore.Schema(bad); err == nil {
			t.Errorf("Schema(%q): err = nil, want an error", bad)
		}
	}
	if _, err := pgstore.New(pool, pgstore.Options{BatchSize: -1}); err == nil {
		t.Errorf("New with a negative BatchSize: err = nil, want an error")
	}
}

// TestSchemaDocumented checks that doc.go shows the SQL that Migrate runs.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var shown strings.Builder
	schema, err := pgstore.Schema(pgstore.DefaultTable)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(schema, "\n") {
		if line != "" {
			shown.WriteString("//\t" + line + "\n")
		}
	}
	if !strings.Contains(string(doc), shown.String()) {
		t.Errorf("doc.go does not show Schema(%q):\n%s", pgstore.DefaultTable, shown.String())
	}
}

// TestTableNameLength checks the limit that index names put on the table name:
// PostgreSQL keeps 63 bytes of an identifier and silently truncates the rest, so the
// longest table that keeps both "<table>_expiry_idx" and "<table>_owner_idx" whole is
// 52 bytes. At 52 bytes, with or without a schema, Migrate creates both indexes under
// their full names; at 53 bytes (multibyte characters count in bytes) New and Schema
// return an error.
func TestTableNameLength(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	ctx := t.Context()
	testSchema(t, pool)
	// base returns a name of n bytes that no other test uses.
	base := func(n int, fill string) string {
		s := strings.TrimPrefix(uniqueTable(), "public.") + "_"
		return s + strings.Repeat(fill, (n-len(s))/len(fill))
	}
	for _, tc := range []struct {
		name, schema, table string
	}{
		{"52 bytes", "public", base(52, "x")},
		{"52 bytes with a schema", "pgstore_test", base(52, "x")},
		{"52 bytes in two-byte characters", "public", base(52, "é")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.table) != 52 {
				t.Fatalf("the test's table name is %d bytes, want 52", len(tc.table))
			}
			newStore(t, pool, pgstore.Options{Table: tc.schema + "." + tc.table}) // migrated
			rows, err := pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, tc.schema, tc.table)
			if err != nil {
				t.Fatal(err)
			}
			names, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{tc.table + "_expiry_idx", tc.table + "_owner_idx"} {
				if !slices.Contains(names, want) {
					t.Errorf("indexes of %s.%s = %q; want %q among them", tc.schema, tc.table, names, want)
				}
			}
		})
	}
	for _, bad := range []string{
		base(53, "x"),
		"pgstore_test." + base(53, "x"),
		base(51, "x") + "é", // 53 bytes, 52 characters
		strings.Repeat("s", 64) + ".sessions",
	} {
		if _, err := pgstore.New(pool, pgstore.Options{Table: bad}); err == nil || !strings.HasPrefix(err.Error(), "pgstore: ") {
			t.Errorf("New with the %d-byte table name %q: err = %v, want a pgstore: error", len(bad), bad, err)
		}
		if _, err := pgstore.Schema(bad); err == nil {
			t.Errorf("Schema(%q) of %d bytes: err = nil, want an error", bad, len(bad))
		}
	}
}

// firstReleaseSchema is the SQL with which the first release's Migrate created its
// table: no active and no ended column.
func firstReleaseSchema(table string) string {
	base := table[strings.LastIndex(table, ".")+1:]
	t := quote(table)
	return `CREATE TABLE IF NOT EXISTS ` + t + ` (
	key     bytea       PRIMARY KEY,
	data    bytea       NOT NULL,
	expiry  timestamptz NOT NULL,
	created timestamptz NOT NULL,
	version bigint      NOT NULL,
	owner   text,
	persist boolean     NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS ` + quote(base+"_expiry_idx") + ` ON ` + t + ` (expiry);
CREATE INDEX IF NOT EXISTS ` + quote(base+"_owner_idx") + ` ON ` + t + ` (owner) WHERE owner IS NOT NULL;
`
}

// firstReleaseCreate is the first release's KV.Create statement.
func firstReleaseCreate(table string) string {
	return `INSERT INTO ` + quote(table) + ` AS s (key, data, expiry, created, version, owner, persist)` +
		` VALUES ($1, $2, $3, $4, $5, nullif($6::text, ''), $7)` +
		` ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry,` +
		` created = excluded.created, version = excluded.version, owner = excluded.owner,` +
		` persist = excluded.persist WHERE s.expiry <= $8`
}

// TestMigrateFirstRelease upgrades a table that the first release made and filled:
// Migrate, run by several instances at once and then again, adds the columns; the old
// rows load with a zero Active and no end, and a Manager serves them: it touches one
// (Active is set), updates it, and renews another (the old key holds a marker, the new
// one the session).
func TestMigrateFirstRelease(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	ctx := t.Context()
	table := uniqueTable()
	if _, err := pool.Exec(ctx, firstReleaseSchema(table)); err != nil {
		t.Fatalf("creating the first release's table: %v", err)
	}
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+quote(table)) })

	// Two sessions written by the first release: an anonymous one, and one with an
	// owner and "remember me".
	now := time.Now().Truncate(time.Millisecond)
	created, expiry := now.Add(-10*time.Minute), now.Add(20*time.Minute)
	anon, owned := newToken(), newToken()
	for _, s := range []struct {
		token, owner string
		persist      bool
	}{{anon, "", false}, {owned, "user:7", true}} {
		tag, err := pool.Exec(ctx, firstReleaseCreate(table), keyOf(s.token), []byte(`{"N":5}`),
			expiry, created, int64(3), s.owner, s.persist, now)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("writing a row the first release's way: %v, %v", tag, err)
		}
	}

	// Instances upgrade the table at once, then once more.
	stores := make([]*pgstore.Store, 4)
	for i := range stores {
		stores[i] = mustNew(t, pool, pgstore.Options{Table: table})
	}
	migrateAtOnce(t, stores, "on the first release's table")
	if err := stores[0].Migrate(ctx); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	var nulls, ended, indexes int
	err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE active IS NULL), count(*) FILTER (WHERE ended <> 0) FROM `+quote(table)).Scan(&nulls, &ended)
	if err != nil || nulls != 2 || ended != 0 {
		t.Errorf("after Migrate: %d rows with no active, %d ended, %v; want 2 and 0", nulls, ended, err)
	}
	err = pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`,
		strings.TrimPrefix(table, "public.")).Scan(&indexes)
	if err != nil || indexes != 3 {
		t.Errorf("indexes after Migrate = %d, %v; want the 3 of the first release", indexes, err)
	}

	// The old rows load as they were written, with a zero Active and no end.
	st := stores[0]
	for _, s := range []struct {
		token string
		want  store.Record
	}{
		{anon, store.Record{Data: []byte(`{"N":5}`), Expiry: expiry, Created: created, Version: 3}},
		{owned, store.Record{Data: []byte(`{"N":5}`), Expiry: expiry, Created: created, Version: 3, Owner: "user:7", RememberMe: true}},
	} {
		got, found, err := st.Load(ctx, s.token)
		if err != nil || !found {
			t.Fatalf("Load of a first-release row = found %v, %v", found, err)
		}
		if d := storetest.Diff(got, s.want); d != "" {
			t.Errorf("Load of a first-release row: %s", d)
		}
	}

	// A Manager serves them.
	type counter struct{ N int }
	m, err := typedsession.New[counter](st, typedsession.Options{
		CookieName:  "session", // the first release's default, kept across the upgrade as the CHANGELOG advises
		IdleTimeout: 30 * time.Minute,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if c, err := m.Get(r.Context()); err == nil {
			fmt.Fprint(w, c.N)
		}
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		m.Update(r.Context(), func(c *counter) error { c.N++; return nil })
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) {
		m.Renew(r.Context())
	})
	h := m.Handler(mux)
	serve := func(method, path, token string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequestWithContext(ctx, method, "https://example.com"+path, nil)
		r.AddCookie(&http.Cookie{Name: "session", Value: token})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	row := func(token string) (rec store.Record, active *time.Time) {
		t.Helper()
		var version int64
		var ended int16
		err := pool.QueryRow(ctx, `SELECT data, expiry, active, version, coalesce(owner, ''), ended FROM `+quote(table)+` WHERE key = $1`, keyOf(token)).
			Scan(&rec.Data, &rec.Expiry, &active, &version, &rec.Owner, &ended)
		if err != nil {
			t.Fatalf("reading the row: %v", err)
		}
		rec.Version, rec.Ended = uint64(version), store.EndReason(ended)
		return rec, active
	}

	// Read: last active 10 minutes ago (its Created, as Active is NULL), so the Manager
	// touches it.
	if w := serve("GET", "/", anon); w.Code != http.StatusOK || w.Body.String() != "5" {
		t.Fatalf("GET with a first-release session = %d %q, want 200 5", w.Code, w.Body)
	}
	if rec, active := row(anon); active == nil || active.Before(now) || rec.Version != 3 || !rec.Expiry.After(expiry) {
		t.Errorf("after a read, the row has active %v, version %d, expiry %v; want active set (≥ %v), version 3 and a later expiry than %v",
			active, rec.Version, rec.Expiry, now, expiry)
	}
	// Update.
	if w := serve("POST", "/incr", anon); w.Code != http.StatusOK || len(w.Result().Cookies()) != 0 {
		t.Errorf("POST /incr with a first-release session = %d with cookies %v, want 200 and none", w.Code, w.Result().Cookies())
	}
	if w := serve("GET", "/", anon); w.Body.String() != "6" {
		t.Errorf("after an increment, GET = %q, want 6", w.Body)
	}
	if rec, _ := row(anon); string(rec.Data) != `{"N":6}` || rec.Version == 3 {
		t.Errorf("after an increment, the row holds %s at version %d; want {\"N\":6} at a new version", rec.Data, rec.Version)
	}
	// Renew: a new token with the same session, and a marker at the old key.
	w := serve("POST", "/renew", owned)
	var renewed string
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" {
			renewed = c.Value
		}
	}
	if w.Code != http.StatusOK || renewed == "" || renewed == owned {
		t.Fatalf("POST /renew with a first-release session = %d, new token %q; want 200 and a new token", w.Code, renewed)
	}
	if w := serve("GET", "/", renewed); w.Code != http.StatusOK || w.Body.String() != "5" {
		t.Errorf("GET with the renewed token = %d %q, want 200 5", w.Code, w.Body)
	}
	if rec, _ := row(renewed); rec.Owner != "user:7" || rec.Ended != store.NotEnded {
		t.Errorf("the renewed row has owner %q, ended %v; want user:7, not ended", rec.Owner, rec.Ended)
	}
	if rec, _ := row(owned); rec.Ended != store.Renewed || len(rec.Data) != 0 {
		t.Errorf("the old row after Renew holds %q, ended %v; want a renewed marker without data", rec.Data, rec.Ended)
	}
	if w := serve("GET", "/", owned); w.Code != http.StatusConflict {
		t.Errorf("GET with the token renewed away = %d, want the ErrorHandler's 409 (session ended)", w.Code)
	}
}

// newToken returns a session token as store.KVStore mints them.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// keyOf returns the row key of token, as store.KVStore makes it.
func keyOf(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
