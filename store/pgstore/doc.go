// Package pgstore keeps typedsession sessions in a PostgreSQL table, through
// [github.com/jackc/pgx/v5].
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app?connect_timeout=5")
//	...
//	st, err := pgstore.New(pool, pgstore.Options{})
//	...
//	if err := st.Migrate(ctx); err != nil { ... } // or run pgstore.Schema yourself
//	st.StartCleanup(10 * time.Minute)               // optional
//	defer st.Close()
//	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
//
// [New] takes a [DB]: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx. It does no I/O
// and starts no goroutine.
//
// # Schema
//
// One row per session, keyed by the SHA-256 of its token (a leaked table holds
// no usable token). [Store.Migrate] creates the table and its indexes if they
// are missing; for your own migrations, this is the SQL, as [Schema] returns it
// for the default table name:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		key     bytea       PRIMARY KEY,
//		data    bytea       NOT NULL,
//		expiry  timestamptz NOT NULL,
//		created timestamptz NOT NULL,
//		active  timestamptz,
//		version bigint      NOT NULL,
//		owner   text,
//		persist boolean     NOT NULL DEFAULT false,
//		ended   smallint    NOT NULL DEFAULT 0
//	);
//	ALTER TABLE "sessions" ADD COLUMN IF NOT EXISTS active timestamptz;
//	ALTER TABLE "sessions" ADD COLUMN IF NOT EXISTS ended smallint NOT NULL DEFAULT 0;
//	CREATE INDEX IF NOT EXISTS "sessions_expiry_idx" ON "sessions" (expiry);
//	CREATE INDEX IF NOT EXISTS "sessions_owner_idx" ON "sessions" (owner) WHERE owner IS NOT NULL;
//
// Options.Table names another table, schema-qualified if you like
// ("auth.sessions"); names are quoted, so they are case-sensitive. data holds
// the session as the Manager's Codec encoded it (JSON by default, readable
// with convert_from(data, 'UTF8')). active is when the session was last used
// (NULL in rows written before the column existed); persist is RememberMe;
// ended marks a row left, without data, under a renewed (1) or destroyed (2)
// session's key for a minute, so that a late request bearing the old token is
// recognised. version is the Record's Version (a uint64
// stored bit for bit in a bigint). Times are kept to the microsecond; the
// Manager makes them whole milliseconds.
//
// # Operations
//
// Each operation is one statement and one round trip, so it is atomic: a
// cancelled context or a lost connection never leaves a half-written session.
// Create is an INSERT that replaces only an expired row at its key; Update is
// an UPDATE conditional on the version that was read and on the row being
// live; Touch updates the expiry alone; Delete of a missing row does nothing.
//
// Expiry is checked against the application's clock, the one the Manager
// uses: each statement passes time.Now() as a parameter rather than calling
// the database's now(). Keep the clocks of the application servers
// synchronised (NTP): a server whose clock runs ahead ends sessions early.
//
// # Expired rows
//
// An expired row is never returned, whether or not it has been deleted.
// Deleting them reclaims space: call [Store.DeleteExpired] from a job of your
// own, or [Store.StartCleanup] to run it in the background until
// [Store.Close]. It deletes in batches (Options.BatchSize, 1000 by default) of
// short statements using FOR UPDATE SKIP LOCKED, so it holds no long locks and
// several application instances may run it at once.
//
// A Store is a [store.Notifier]: a Manager made with it and Options.OnEvent reports
// each session (not a marker) that this Store's DeleteExpired deletes as a
// SessionCleaned event.
//
// # Outages
//
// A request waits for its session at most the Manager's Options.StoreTimeout
// with pgx's default configuration too: pgx gives up a statement, and the wait
// for a connection from the pool, when the context is done. What that
// configuration leaves without a bound is a new connection. The pool makes it
// in the background, without the deadline of the request that asked for it,
// and it has no deadline of its own unless ConnConfig.ConnectTimeout
// (connect_timeout in the URL, in seconds) is set. An attempt that a stalled
// server or a broken network never answers holds a place in the pool
// (MaxConns, by default the greater of 4 and the number of CPUs) for as long as
// it lasts; once every place is held so, the pool makes no new connection when
// the server is back, and every request fails until those attempts end. Set a
// connect timeout, as in the example above, and the pool connects again once
// the server answers.
//
// # Connection poolers
//
// Behind PgBouncer (or another pooler) in transaction mode, server-side
// prepared statements do not survive from one transaction to the next, so
// pgx's default exec mode (QueryExecModeCacheStatement) fails. Configure the
// pool with a mode that prepares nothing on the server:
//
//	cfg, err := pgxpool.ParseConfig(url)
//	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe // or QueryExecModeSimpleProtocol
//	pool, err := pgxpool.NewWithConfig(ctx, cfg)
//
// Every statement of this package is a single statement (Migrate is one
// simple query, one implicit transaction), so all of them work in transaction
// mode; the tests run the conformance suite in both modes. With
// QueryExecModeCacheDescribe, run Migrate before the first query and avoid
// changing the table afterwards, as cached descriptions would go stale.
// PgBouncer 1.21 and later can also keep prepared statements in transaction
// mode (max_prepared_statements), which makes the default mode work.
package pgstore
