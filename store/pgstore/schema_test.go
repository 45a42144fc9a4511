package pgstore_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store/pgstore"
)

// TestMigrate checks that Migrate is idempotent, also when instances run it
// at once, and creates the columns and indexes the docs describe.
func TestMigrate(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	table := uniqueTable()
	s := newStore(t, pool, pgstore.Options{Table: table}) // migrated once
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- s.Migrate(t.Context()) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("Migrate again: %v", err)
		}
	}
	var n int
	err := pool.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`,
		strings.TrimPrefix(table, "public.")).Scan(&n)
	if err != nil || n != 3 {
		t.Errorf("indexes = %d, %v; want 3 (primary key, expiry, owner)", n, err)
	}
}

// TestTableNames checks that names needing quotes, and schema-qualified ones,
// work, and that a malformed name panics in New.
func TestTableNames(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS pgstore_test`); err != nil {
		t.Fatal(err)
	}
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
