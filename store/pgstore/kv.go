package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// kv is the [store.KV] and [store.OwnerKV] of a Store: one row per session in a PostgreSQL
// table, keyed by the 32-byte key. Every method is one statement, one round
// trip, and so atomic: a cancelled context never leaves a half-written row.
//
// A row is live while the application's clock is before its expiry: each
// statement passes time.Now() of the calling process, the clock the Manager
// uses, rather than the database's now(). Expired rows are never returned nor
// updated, whether or not [Store.DeleteExpired] has removed them yet.
type kv struct {
	db    DB
	table string // as given in Options
	batch int

	// The statements, built once by New.
	get, create, update, touch, del       string
	owned, deleteOwned, deleteOwnedExcept string
	deleteExpired, deleteExpiredReturning string
	migrate                               string
}

func newKV(db DB, table string, ident pgx.Identifier, batch int) *kv {
	t := ident.Sanitize()
	const cols = "key, data, expiry, created, active, version, owner, persist, ended"
	return &kv{
		db:    db,
		table: table,
		batch: batch,

		get: `SELECT data, expiry, created, active, version, coalesce(owner, ''), persist, ended FROM ` + t +
			` WHERE key = $1 AND expiry > $2`,

		// An expired row left at the key may be replaced; a live one never is.
		create: `INSERT INTO ` + t + ` AS s (` + cols + `)` +
			` VALUES ($1, $2, $3, $4, $5, $6, nullif($7::text, ''), $8, $9)` +
			` ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry,` +
			` created = excluded.created, active = excluded.active, version = excluded.version,` +
			` owner = excluded.owner, persist = excluded.persist, ended = excluded.ended` +
			` WHERE s.expiry <= $10`,

		update: `UPDATE ` + t + ` SET data = $3, expiry = $4, created = $5, active = $6, version = $7,` +
			` owner = nullif($8::text, ''), persist = $9, ended = $10` +
			` WHERE key = $1 AND version = $2 AND expiry > $11`,

		touch: `UPDATE ` + t + ` SET active = $2, expiry = $3 WHERE key = $1 AND expiry > $4`,

		del: `DELETE FROM ` + t + ` WHERE key = $1`,

		owned: `SELECT key, expiry, created, active, version, persist FROM ` + t +
			` WHERE owner = $1 AND ended = 0 AND expiry > $2`,

		// Expired rows of the owner go too, but only live ones are counted. Markers
		// stay: they are no sessions, and expire on their own.
		deleteOwned: `WITH d AS (DELETE FROM ` + t + ` WHERE owner = $1 AND ended = 0 RETURNING key, expiry)` +
			` SELECT key FROM d WHERE expiry > $2`,
		deleteOwnedExcept: `WITH d AS (DELETE FROM ` + t + ` WHERE owner = $1 AND ended = 0 AND key <> $3 RETURNING key, expiry)` +
			` SELECT key FROM d WHERE expiry > $2`,

		deleteExpired: `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t +
			` WHERE expiry <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		// The same, for a Store with subscribers (store.Notifier): what it deleted.
		deleteExpiredReturning: `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t +
			` WHERE expiry <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING key, coalesce(owner, ''), ended`,

		migrate: `SELECT pg_advisory_xact_lock(hashtext('typedsession/pgstore.Migrate'));` + "\n" +
			schema(ident),
	}
}

// Get implements [store.KV].
func (k *kv) Get(ctx context.Context, key string) (store.Record, bool, error) {
	var (
		rec     store.Record
		active  *time.Time
		version int64
		ended   int16
	)
	err := k.db.QueryRow(ctx, k.get, []byte(key), time.Now()).
		Scan(&rec.Data, &rec.Expiry, &rec.Created, &active, &version, &rec.Owner, &rec.RememberMe, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, false, nil
	}
	if err != nil {
		return store.Record{}, false, fmt.Errorf("pgstore: get: %w", err)
	}
	rec.Version, rec.Ended = uint64(version), store.EndReason(ended)
	if active != nil {
		rec.Active = *active
	}
	return rec, true, nil
}

// Create implements [store.KV]. It is one INSERT that replaces a row at
// key only if that row has expired.
func (k *kv) Create(ctx context.Context, key string, rec store.Record) error {
	tag, err := k.db.Exec(ctx, k.create, []byte(key), data(rec.Data), rec.Expiry, rec.Created,
		nullTime(rec.Active), int64(rec.Version), rec.Owner, rec.RememberMe, int16(rec.Ended), time.Now())
	if err != nil {
		return fmt.Errorf("pgstore: create: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return typedsession.ErrConflict
	}
	return nil
}

// Update implements [store.KV]. It is one UPDATE conditional on the
// version and on the row being live.
func (k *kv) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	tag, err := k.db.Exec(ctx, k.update, []byte(key), int64(version), data(rec.Data), rec.Expiry,
		rec.Created, nullTime(rec.Active), int64(rec.Version), rec.Owner, rec.RememberMe, int16(rec.Ended), time.Now())
	if err != nil {
		return fmt.Errorf("pgstore: update: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return typedsession.ErrConflict
	}
	return nil
}

// Touch implements [store.KV].
func (k *kv) Touch(ctx context.Context, key string, active, expiry time.Time) error {
	if _, err := k.db.Exec(ctx, k.touch, []byte(key), nullTime(active), expiry, time.Now()); err != nil {
		return fmt.Errorf("pgstore: touch: %w", err)
	}
	return nil
}

// Delete implements [store.KV].
func (k *kv) Delete(ctx context.Context, key string) error {
	if _, err := k.db.Exec(ctx, k.del, []byte(key)); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	return nil
}

// Owned implements [store.OwnerKV], with the partial index on owner.
// The Data of the returned records is nil.
func (k *kv) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	rows, err := k.db.Query(ctx, k.owned, owner, time.Now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: owned: %w", err)
	}
	defer rows.Close()
	out := make(map[string]store.Record)
	for rows.Next() {
		var (
			key     []byte
			rec     = store.Record{Owner: owner}
			active  *time.Time
			version int64
		)
		if err := rows.Scan(&key, &rec.Expiry, &rec.Created, &active, &version, &rec.RememberMe); err != nil {
			return nil, fmt.Errorf("pgstore: owned: %w", err)
		}
		rec.Version = uint64(version)
		if active != nil {
			rec.Active = *active
		}
		out[string(key)] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: owned: %w", err)
	}
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]. It also deletes the expired
// rows of owner, but returns the keys of the live ones only.
func (k *kv) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	var rows pgx.Rows
	var err error
	if except == "" {
		rows, err = k.db.Query(ctx, k.deleteOwned, owner, time.Now())
	} else {
		rows, err = k.db.Query(ctx, k.deleteOwnedExcept, owner, time.Now(), []byte(except))
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: delete owned: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var key []byte
		err := row.Scan(&key)
		return string(key), err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: delete owned: %w", err)
	}
	return keys, nil
}

// data returns b, or an empty slice for nil: pgx sends a nil slice as NULL.
func data(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullTime returns t, or nil (SQL NULL) for the zero time: a record without an Active.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
