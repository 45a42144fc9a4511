package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession/internal/cleanup"
	"github.com/seed96b21533/typedsession/internal/notify"
	"github.com/seed96b21533/typedsession/store"
)

// DB is what a Store needs of its database: the three query methods that
// *pgxpool.Pool, *pgx.Conn and pgx.Tx all have.
//
// The Store is safe for concurrent use when its DB is: a *pgxpool.Pool is, a
// *pgx.Conn and a pgx.Tx are not.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ DB = (*pgxpool.Pool)(nil)
	_ DB = (*pgx.Conn)(nil)
	_ DB = pgx.Tx(nil)
)

// DefaultTable is the table a Store uses when Options.Table is empty.
const DefaultTable = "sessions"

// DefaultBatchSize is the batch size of [Store.DeleteExpired] when
// Options.BatchSize is zero.
const DefaultBatchSize = 1000

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the sessions table, optionally schema-qualified
	// ("auth.sessions"). Each part is quoted, so it is case-sensitive and may
	// hold any character but a dot. Default: "sessions".
	Table string

	// BatchSize is the largest number of expired rows that one statement of
	// [Store.DeleteExpired] deletes. Default: 1000.
	BatchSize int

	// Logger receives the errors of the background cleanup started by
	// [Store.StartCleanup]. Default: slog.Default().
	Logger *slog.Logger
}

// Store is a [store.Store] that keeps sessions in a PostgreSQL table, and a
// [store.OwnerStore]: log out everywhere is supported. Its KVStore holds the
// [store.KV] on PostgreSQL, which also implements [store.OwnerKV].
//
// A Store is safe for concurrent use when its DB is.
type Store struct {
	store.KVStore

	kv     *kv
	logger *slog.Logger
	subs   notify.List // store.Notifier: who hears of the rows DeleteExpired deletes

	cleanup cleanup.Runner
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.OwnerStore = (*Store)(nil)
	_ store.Notifier   = (*Store)(nil)
	_ store.OwnerKV    = (*kv)(nil)
)

// New returns a Store that keeps its sessions in the table named by
// opts.Table, through db. It does no I/O and starts nothing: call
// [Store.Migrate] (or run the SQL of [Schema] yourself) to create the table,
// and [Store.StartCleanup] to delete expired rows in the background.
//
// New returns an error if opts is invalid (a table name with an empty part or
// more than two parts, a negative BatchSize), and panics if db is nil.
func New(db DB, opts Options) (*Store, error) {
	if db == nil {
		panic("pgstore: New called with a nil DB")
	}
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	ident, err := tableIdent(opts.Table)
	if err != nil {
		return nil, err
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("pgstore: Options.BatchSize is %d; want 0 (the default) or more", opts.BatchSize)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	k := newKV(db, opts.Table, ident, opts.BatchSize)
	return &Store{KVStore: store.KVStore{KV: k}, kv: k, logger: opts.Logger}, nil
}

// Migrate creates the table and its indexes if they do not exist, with the
// SQL that [Schema] returns. It is idempotent, and safe to call from several
// instances at once: it holds a transaction-scoped advisory lock while it runs.
func (s *Store) Migrate(ctx context.Context) error {
	// Without arguments pgx sends this as one simple query: one implicit
	// transaction, so the advisory lock is held to its end, and it works
	// behind a pooler in transaction mode.
	if _, err := s.kv.db.Exec(ctx, s.kv.migrate); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// DeleteExpired deletes the rows whose expiry has passed and returns how many
// it deleted. It works in batches of Options.BatchSize rows, each one short
// statement that skips rows locked by others, so it holds no long locks and
// several instances may run it at once. It stops early, with ctx's error, when
// ctx is done.
//
// Expired rows are never returned whether or not they have been deleted;
// deleting them only reclaims space. While a function registered with
// [Store.Notify] is in place, each batch also returns the key, owner and ended
// of the rows it deleted, and those functions hear of the sessions among them
// once the batch's statement has returned.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		var err error
		if s.subs.Active() {
			n, err = s.deleteExpiredReporting(ctx)
		} else {
			var tag pgconn.CommandTag
			tag, err = s.kv.db.Exec(ctx, s.kv.deleteExpired, time.Now(), s.kv.batch)
			n = int(tag.RowsAffected())
		}
		if err != nil {
			return total, fmt.Errorf("pgstore: delete expired: %w", err)
		}
		total += n
		if n < s.kv.batch {
			return total, nil
		}
	}
}

// deleteExpiredReporting deletes one batch of expired rows, returns how many it
// deleted, and reports the sessions among them (not the markers) to the functions
// of s.subs, after the statement's rows are read and closed.
func (s *Store) deleteExpiredReporting(ctx context.Context) (int, error) {
	rows, err := s.kv.db.Query(ctx, s.kv.deleteExpiredReturning, time.Now(), s.kv.batch)
	if err != nil {
		return 0, err
	}
	n := 0
	var removed []store.Removal
	for rows.Next() {
		var (
			key   []byte
			owner string
			ended int16
		)
		if err := rows.Scan(&key, &owner, &ended); err != nil {
			rows.Close()
			return 0, err
		}
		n++
		if store.EndReason(ended) == store.NotEnded {
			removed = append(removed, store.Removal{ID: store.KeyID(string(key)), Owner: owner, Reason: store.Expired})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		// The error may have come after the server deleted the rows (a connection
		// lost after the commit): report none rather than removals that may not be.
		return 0, err
	}
	now := time.Now()
	for i := range removed {
		removed[i].Time = now
	}
	s.subs.Notify(removed...)
	return n, nil
}

// Notify implements [store.Notifier]: fn hears of every session (not a marker) that
// [Store.DeleteExpired], or the cleanup started by [Store.StartCleanup], deletes
// through this Store, with its ID, Owner, store.Expired, and the time the batch that
// deleted it returned. It hears nothing of rows deleted otherwise (another Store on
// the same table, your own SQL). When the Store's DB is a pgx.Tx, fn is called once
// the statement has run in that transaction, before it commits or rolls back.
func (s *Store) Notify(fn func(store.Removal)) (cancel func()) {
	return s.subs.Add(fn)
}

// StartCleanup starts a goroutine that calls [Store.DeleteExpired] every interval
// until [Store.Close]. Each call has a deadline, the interval or 30 seconds if that is
// longer, so that a server that stalls holds the cleanup up that long at most; its
// errors go to Options.Logger. Calling StartCleanup again replaces the running cleanup
// with one at the new interval. StartCleanup panics if interval is not positive.
func (s *Store) StartCleanup(interval time.Duration) {
	if interval <= 0 {
		panic("pgstore: StartCleanup interval must be positive")
	}
	s.cleanup.Start(interval, func(ctx context.Context) {
		n, err := s.DeleteExpired(ctx)
		if err != nil && !cleanup.Stopped(ctx) {
			s.logger.LogAttrs(ctx, slog.LevelError, "pgstore: deleting expired sessions failed",
				slog.String("table", s.kv.table), slog.Int("deleted", n), slog.Any("error", err))
		}
	})
}

// Close stops the cleanup started by [Store.StartCleanup] and waits for it to
// return: it cancels the running statement, if any, and no statement starts after.
// A statement that had already reached the server may still complete there after
// Close returns (PostgreSQL learns of the cancellation, or of the closed connection,
// asynchronously); it deletes only rows that had expired when it was sent. Close does
// not close the DB, which belongs to the caller. Close may be called more than once,
// and without a cleanup running; it returns nil.
func (s *Store) Close() error {
	s.cleanup.Stop()
	return nil
}
