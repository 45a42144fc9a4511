package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// A Manager over PostgreSQL: a pool, the table made if missing, expired rows
// deleted every ten minutes. (This example needs a server, so it is compiled
// but not run.)
func Example() {
	type Profile struct {
		UserID int64
		Name   string
	}
	ctx := context.Background()
	// A connect timeout bounds each new connection: see Outages in the package doc.
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app?connect_timeout=5")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st, err := pgstore.New(pool, pgstore.Options{Table: "auth.sessions"})
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	st.StartCleanup(10 * time.Minute)
	defer st.Close()

	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		p, err := sessions.Get(r.Context())
		if err != nil {
			return // reported through Options.ErrorHandler
		}
		fmt.Fprintf(w, "hello, %s", p.Name)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(mux)))
}

// Behind PgBouncer in transaction mode, pick an exec mode that keeps no
// prepared statement on the server between transactions. (Compiled, not run.)
func Example_pgBouncer() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig("postgres://app@127.0.0.1:6432/app")
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe // or QueryExecModeSimpleProtocol
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pgstore.New(pool, pgstore.Options{}); err != nil {
		log.Fatal(err)
	}
}

// The SQL for those who run their own migrations.
func ExampleSchema() {
	schema, err := pgstore.Schema("auth.sessions")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(schema)
	// Output:
	// CREATE TABLE IF NOT EXISTS "auth"."sessions" (
	// 	key     bytea       PRIMARY KEY,
	// 	data    bytea       NOT NULL,
	// 	expiry  timestamptz NOT NULL,
	// 	created timestamptz NOT NULL,
	// 	active  timestamptz,
	// 	version bigint      NOT NULL,
	// 	owner   text,
	// 	persist boolean     NOT NULL DEFAULT false,
	// 	ended   smallint    NOT NULL DEFAULT 0
	// );
	// ALTER TABLE "auth"."sessions" ADD COLUMN IF NOT EXISTS active timestamptz;
	// ALTER TABLE "auth"."sessions" ADD COLUMN IF NOT EXISTS ended smallint NOT NULL DEFAULT 0;
	// CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "auth"."sessions" (expiry);
	// CREATE INDEX IF NOT EXISTS "sessions_owner_idx" ON "auth"."sessions" (owner) WHERE owner IS NOT NULL;
}
