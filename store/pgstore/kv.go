package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// KV is the [store.KV] of a Store: one row per session in a PostgreSQL
// table, keyed by the 32-byte key. Every method is one statement, one round
// trip, and so atomic: a cancelled context never leaves a half-written row.
//
// A row is live while the application's clock is before its expiry: each
// statement passes time.Now() of the calling process, the clock the Manager
// uses, rather than the database's now(). Expired rows are never returned nor
// updated, whether or not [Store.DeleteExpired] has removed them yet.
type KV struct {
	db    DB
	table string // as given in Options
	batch int

	// The statements, built once by New.
	get, create, update, touch, del       string
	owned, deleteOwned, deleteOwnedExcept string
	deleteExpired, migrate                string
}

func newKV(db DB, table string, batch int) *KV {
	t := tableIdent(table).Sanitize()
	const cols = "key, data, expiry, created, version, owner, persist"
	return &KV{
		db:    db,
		table: table,
		batch: batch,

		get: `SELECT data, expiry, created, version, coalesce(owner, ''), persist FROM ` + t +
			` WHERE key = $1 AND expiry > $2`,

		// An expired row left at the key may be replaced; a live one never is.
		create: `INSERT INTO ` + t + ` AS s (` + cols + `)` +
			` VALUES ($1, $2, $3, $4, $5, nullif($6::text, ''), $7)` +
			` ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry,` +
			` created = excluded.created, version = excluded.version, owner = excluded.owner,` +
			` persist = excluded.persist WHERE s.expiry <= $8`,

		update: `UPDATE ` + t + ` SET data = $3, expiry = $4, created = $5, version = $6,` +
			` owner = nullif($7::text, ''), persist = $8` +
			` WHERE key = $1 AND version = $2 AND expiry > $9`,

		touch: `UPDATE ` + t + ` SET expiry = $2 WHERE key = $1 AND expiry > $3`,

		del: `DELETE FROM ` + t + ` WHERE key = $1`,

		owned: `SELECT key, expiry, created, version, persist FROM ` + t +
			` WHERE owner = $1 AND expiry > $2`,

		// Expired rows of the owner go too, but only live ones are counted.
		deleteOwned: `WITH d AS (DELETE FROM ` + t + ` WHERE owner = $1 RETURNING expiry)` +
			` SELECT count(*) FROM d WHERE expiry > $2`,
		deleteOwnedExcept: `WITH d AS (DELETE FROM ` + t + ` WHERE owner = $1 AND key <> $3 RETURNING expiry)` +
			` SELECT count(*) FROM d WHERE expiry > $2`,

		deleteExpired: `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t +
			` WHERE expiry <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,

		migrate: `SELECT pg_advisory_xact_lock(hashtext('typedsession/pgstore.Migrate'));` + "\n" +
			Schema(table),
	}
}

// Get implements [store.KV].
func (kv *KV) Get(ctx context.Context, key string) (store.Record, bool, error) {
	var (
		rec     store.Record
		version int64
	)
	err := kv.db.QueryRow(ctx, kv.get, []byte(key), time.Now()).
		Scan(&rec.Data, &rec.Expiry, &rec.Created, &version, &rec.Owner, &rec.Persist)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Record{}, false, nil
	}
	if err != nil {
		return store.Record{}, false, wrap("get", err)
	}
	rec.Version = uint64(version)
	return rec, true, nil
}

// Create implements [store.KV]. It is one INSERT that replaces a row at
// key only if that row has expired.
func (kv *KV) Create(ctx context.Context, key string, rec store.Record) error {
	tag, err := kv.db.Exec(ctx, kv.create, []byte(key), data(rec.Data), rec.Expiry, rec.Created,
		int64(rec.Version), rec.Owner, rec.Persist, time.Now())
	if err != nil {
		return wrap("create", err)
	}
	if tag.RowsAffected() == 0 {
		return typedsession.ErrConflict
	}
	return nil
}

// Update implements [store.KV]. It is one UPDATE conditional on the
// version and on the row being live.
func (kv *KV) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	tag, err := kv.db.Exec(ctx, kv.update, []byte(key), int64(version), data(rec.Data), rec.Expiry,
		rec.Created, int64(rec.Version), rec.Owner, rec.Persist, time.Now())
	if err != nil {
		return wrap("update", err)
	}
	if tag.RowsAffected() == 0 {
		return typedsession.ErrConflict
	}
	return nil
}

// Touch implements [store.KV].
func (kv *KV) Touch(ctx context.Context, key string, expiry time.Time) error {
	if _, err := kv.db.Exec(ctx, kv.touch, []byte(key), expiry, time.Now()); err != nil {
		return wrap("touch", err)
	}
	return nil
}

// Delete implements [store.KV].
func (kv *KV) Delete(ctx context.Context, key string) error {
	if _, err := kv.db.Exec(ctx, kv.del, []byte(key)); err != nil {
		return wrap("delete", err)
	}
	return nil
}

// Owned implements [store.OwnerKV], with the partial index on owner.
// The Data of the returned records is nil.
func (kv *KV) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	rows, err := kv.db.Query(ctx, kv.owned, owner, time.Now())
	if err != nil {
		return nil, wrap("owned", err)
	}
	defer rows.Close()
	out := make(map[string]store.Record)
	for rows.Next() {
		var (
			key     []byte
			rec     = store.Record{Owner: owner}
			version int64
		)
		if err := rows.Scan(&key, &rec.Expiry, &rec.Created, &version, &rec.Persist); err != nil {
			return nil, wrap("owned", err)
		}
		rec.Version = uint64(version)
		out[string(key)] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("owned", err)
	}
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]. It also deletes the expired
// rows of owner, but counts only the live ones.
func (kv *KV) DeleteOwned(ctx context.Context, owner, except string) (int, error) {
	var row pgx.Row
	if except == "" {
		row = kv.db.QueryRow(ctx, kv.deleteOwned, owner, time.Now())
	} else {
		row = kv.db.QueryRow(ctx, kv.deleteOwnedExcept, owner, time.Now(), []byte(except))
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, wrap("delete owned", err)
	}
	return int(n), nil
}

// data returns b, or an empty slice for nil: pgx sends a nil slice as NULL.
func data(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
