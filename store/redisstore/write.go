package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
)

// indexed reports whether rec belongs in its owner's index: a session (not a marker)
// with an Owner.
func indexed(rec *store.Record) bool {
	return rec.Owner != "" && rec.Ended == store.NotEnded
}

// Create implements [store.KV]: SET NX PXAT. For a session with an Owner, the key
// joins the owner's index in the same round trip.
func (k *kv) Create(ctx context.Context, key string, rec store.Record) error {
	err := k.create(ctx, key, rec)
	kind := markWrite
	if !live(&rec, time.Now()) {
		kind = markGone
	}
	k.markResult(key, err, kind, rec.Version, rec.Expiry)
	return err
}

func (k *kv) create(ctx context.Context, key string, rec store.Record) error {
	val, err := encode(rec)
	if err != nil {
		return err
	}
	rkey := k.key(key)
	cmds := []rueidis.Completed{k.client.B().Set().Key(rkey).Value(val).Nx().PxatMillisecondsTimestamp(ms(rec.Expiry)).Build()}
	var res []rueidis.RedisResult
	var waitErr error
	switch {
	case !indexed(&rec):
		res, waitErr = k.write(ctx, cmds...)
	case !k.cluster:
		// The owner's index is a key of its own: one more command, in the same round
		// trip, on one connection, so after the record.
		res, waitErr = k.write(ctx, append(cmds, k.indexCmd(rec.Owner, key, rec.Expiry))...)
	default:
		// On a Cluster the index may be in another slot, on another node, and the two
		// commands of one round trip run there in parallel: a member indexed before its
		// record is written would look stale to an Owned or DeleteOwned running at that
		// moment, which would drop it from the index for good, and log-out-everywhere
		// would miss the session. So the record first, then its member: a second round
		// trip, at login only.
		res, waitErr = k.write(ctx, cmds...)
		if createResult(res[0]) == nil && waitErr == nil {
			var ires []rueidis.RedisResult
			ires, waitErr = k.write(ctx, k.indexCmd(rec.Owner, key, rec.Expiry))
			res = append(res, ires...)
		}
	}
	if err := createResult(res[0]); err != nil {
		if errors.Is(err, store.ErrConflict) && len(res) > 1 {
			// Another record is at the key: this one is not, and neither is its member.
			k.unindex(ctx, rec.Owner, key)
		}
		return err
	}
	if len(res) > 1 {
		if err := res[1].Error(); err != nil {
			// The session exists but is not indexed, so log-out-everywhere would miss
			// it: take it back (best effort, within the request's deadline: its token
			// is never handed out, so a session left behind serves nobody and expires)
			// and report the failure.
			k.client.Do(ctx, k.client.B().Del().Key(rkey).Build())
			return fmt.Errorf("redisstore: create: index owner: %w", err)
		}
	}
	if waitErr != nil {
		return fmt.Errorf("redisstore: create: %w", waitErr)
	}
	return nil
}

func createResult(r rueidis.RedisResult) error {
	if err := r.Error(); err != nil {
		if isNil(err) { // NX: the key exists
			return fmt.Errorf("redisstore: create: key exists: %w", store.ErrConflict)
		}
		return fmt.Errorf("redisstore: create: %w", err)
	}
	return nil
}

// indexCmd returns the command that puts key, expiring at expiry, in the owner's index
// and drops the index's expired members.
func (k *kv) indexCmd(owner, key string, expiry time.Time) rueidis.Completed {
	return k.client.B().Eval().Script(indexLua).Numkeys(1).Key(k.ownerKey(owner)).
		Arg(key, msArg(expiry), strconv.FormatInt(time.Now().UnixMilli(), 10)).Build()
}

func be64(v uint64) string {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
	return rueidis.BinaryString(b)
}

// Update implements [store.KV]: one script that compares the stored version and
// writes, atomically. For a session with an Owner, its member of the owner's index is
// kept up in the same round trip; a session becoming a marker leaves the index in a
// second one, once the marker is written.
func (k *kv) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	err := k.update(ctx, key, version, rec)
	kind := markWrite
	if !live(&rec, time.Now()) {
		kind = markGone
	}
	k.markResult(key, err, kind, rec.Version, rec.Expiry)
	return err
}

func (k *kv) update(ctx context.Context, key string, version uint64, rec store.Record) error {
	val, err := encode(rec)
	if err != nil {
		return err
	}
	keys := []string{k.key(key)}
	args := []string{be64(version), val, msArg(rec.Expiry), strconv.FormatInt(time.Now().UnixMilli(), 10)}
	var res, idx rueidis.RedisResult
	var waitErr error
	switch {
	case indexed(&rec):
		// The owner's index is a key of its own: its command rides in the same round
		// trip (with the script sent whole, as a pipeline cannot carry the EVALSHA
		// fallback).
		r, werr := k.write(ctx,
			k.client.B().Eval().Script(updateLua).Numkeys(1).Key(keys...).Arg(args...).Build(),
			k.indexCmd(rec.Owner, key, rec.Expiry))
		res, idx, waitErr = r[0], r[1], werr
	case k.replicas > 0:
		r, werr := k.write(ctx, k.client.B().Eval().Script(updateLua).Numkeys(1).Key(keys...).Arg(args...).Build())
		res, waitErr = r[0], werr
	default:
		res = updateScript.Exec(ctx, k.client, keys, args)
	}
	n, err := res.AsInt64()
	if err != nil {
		return fmt.Errorf("redisstore: update: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: update: version changed or session gone: %w", store.ErrConflict)
	}
	if err := idx.Error(); err != nil {
		return fmt.Errorf("redisstore: update: index owner: %w", err)
	}
	if waitErr != nil {
		return fmt.Errorf("redisstore: update: %w", waitErr)
	}
	if rec.Owner != "" && !indexed(&rec) {
		// A session that became a marker leaves its owner's index, once the marker
		// is written and not before: while a live session is at the key, its member
		// stays, so that a concurrent DeleteOwned always finds it.
		k.unindex(ctx, rec.Owner, key)
	}
	return nil
}

// Touch implements [store.KV]: one script that rewrites the 16 bytes of Active and
// Expiry in place and moves the key's expiry; the data is not sent. For a session with
// an Owner, its member of the owner's index then has its score raised, in a second round
// trip.
func (k *kv) Touch(ctx context.Context, key string, active, expiry time.Time) error {
	keys := []string{k.key(key)}
	args := []string{be64(uint64(unixMilli(active))), be64(uint64(ms(expiry))), msArg(expiry), strconv.FormatInt(time.Now().UnixMilli(), 10)}
	var res rueidis.RedisResult
	var waitErr error
	if k.replicas > 0 {
		r, werr := k.write(ctx, k.client.B().Eval().Script(touchLua).Numkeys(1).Key(keys...).Arg(args...).Build())
		res, waitErr = r[0], werr
	} else {
		res = touchScript.Exec(ctx, k.client, keys, args)
	}
	owner, err := res.ToString()
	if err != nil {
		if isNil(err) { // gone or expired: nothing to do
			return nil
		}
		k.mark(key, markUnknown, 0, time.Time{})
		return fmt.Errorf("redisstore: touch: %w", err)
	}
	if time.Now().Before(expiry) {
		k.mark(key, markTouch, 0, expiry)
	} else {
		k.mark(key, markGone, 0, time.Time{})
	}
	if waitErr != nil {
		return fmt.Errorf("redisstore: touch: %w", waitErr)
	}
	if owner != "" {
		r, waitErr := k.write(ctx, k.indexCmd(owner, key, expiry))
		if err := r[0].Error(); err != nil {
			return fmt.Errorf("redisstore: touch: index owner: %w", err)
		}
		if waitErr != nil {
			return fmt.Errorf("redisstore: touch: index owner: %w", waitErr)
		}
	}
	return nil
}

// unixMilli returns t as Unix milliseconds, 0 for the zero time, as a record encodes it.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Delete implements [store.KV]: one GETDEL; for a session with an Owner, a ZREM from
// the owner's index follows.
func (k *kv) Delete(ctx context.Context, key string) error {
	err := k.delete(ctx, key)
	k.markResult(key, err, markGone, 0, time.Time{})
	return err
}

func (k *kv) delete(ctx context.Context, key string) error {
	r, waitErr := k.write(ctx, k.client.B().Getdel().Key(k.key(key)).Build())
	b, err := r[0].AsBytes()
	if err != nil {
		if isNil(err) {
			return nil
		}
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if waitErr != nil {
		return fmt.Errorf("redisstore: delete: %w", waitErr)
	}
	var rec store.Record
	if rec.UnmarshalBinary(b) == nil && rec.Owner != "" {
		k.unindex(ctx, rec.Owner, key)
	}
	return nil
}
