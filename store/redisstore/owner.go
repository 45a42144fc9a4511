package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
)

// members drops the owner's expired members and returns the keys left in the index:
// one script.
func (k *kv) members(ctx context.Context, owner string) ([]string, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	m, err := membersScript.Exec(ctx, k.client, []string{k.ownerKey(owner)}, []string{now}).AsStrSlice()
	if err != nil && !isNil(err) {
		return nil, err
	}
	return m, nil
}

// unindex removes keys from the owner's index. It is housekeeping, never waited for
// and never an error: the index is not trusted over the records (a member whose record
// is gone, expired or a marker is dropped by the next Owned or DeleteOwned, and by the
// score trim of the next write), so a member left behind costs a little room and
// lists nothing.
func (k *kv) unindex(ctx context.Context, owner string, keys ...string) {
	if len(keys) == 0 {
		return
	}
	k.client.Do(ctx, k.client.B().Zrem().Key(k.ownerKey(owner)).Member(keys...).Build())
}

// Owned implements [store.OwnerKV]: the owner's index (its expired members dropped),
// then one GET per member in one pipeline (split by slot on a cluster). Members whose
// record is gone, expired, a marker or of another owner are removed from the index and
// not returned.
func (k *kv) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	keys, err := k.members(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("redisstore: owned: %w", err)
	}
	out := make(map[string]store.Record, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cmds := make(rueidis.Commands, len(keys))
	for i, key := range keys {
		cmds[i] = k.client.B().Get().Key(k.key(key)).Build()
	}
	now := time.Now()
	var stale []string
	for i, r := range k.client.DoMulti(ctx, cmds...) {
		b, err := r.AsBytes()
		if err != nil {
			if isNil(err) {
				stale = append(stale, keys[i])
				continue
			}
			return nil, fmt.Errorf("redisstore: owned: %w", err)
		}
		var rec store.Record
		if rec.UnmarshalBinary(b) != nil || rec.Owner != owner || !indexed(&rec) || !live(&rec, now) {
			stale = append(stale, keys[i])
			continue
		}
		out[keys[i]] = rec
	}
	k.unindex(ctx, owner, stale...)
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]: the owner's index (its expired members
// dropped), then for each member but except a script that deletes the record if it is
// a session of owner, in one pipeline (split by slot on a cluster), then one ZREM of
// the members handled.
func (k *kv) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	keys, err := k.members(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("redisstore: delete owned: %w", err)
	}
	handled := make([]string, 0, len(keys))
	for _, key := range keys {
		if key != except {
			handled = append(handled, key)
		}
	}
	if len(handled) == 0 {
		return nil, nil
	}
	var res []rueidis.RedisResult
	var waitErr error
	if k.replicas > 0 {
		cmds := make([]rueidis.Completed, len(handled))
		for i, key := range handled {
			cmds[i] = k.client.B().Eval().Script(deleteOwnedLua).Numkeys(1).Key(k.key(key)).Arg(owner).Build()
		}
		res, waitErr = k.write(ctx, cmds...)
	} else {
		execs := make([]rueidis.LuaExec, len(handled))
		for i, key := range handled {
			execs[i] = rueidis.LuaExec{Keys: []string{k.key(key)}, Args: []string{owner}}
		}
		res = deleteOwnedScript.ExecMulti(ctx, k.client, execs...)
	}
	var deleted []string
	var firstErr error
	done := make([]string, 0, len(handled))
	for i, r := range res {
		d, err := r.AsInt64()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			k.mark(handled[i], markUnknown, 0, time.Time{})
			continue
		}
		done = append(done, handled[i])
		if d == 1 {
			deleted = append(deleted, handled[i])
			k.mark(handled[i], markGone, 0, time.Time{})
		}
	}
	k.unindex(ctx, owner, done...)
	if firstErr == nil && len(deleted) > 0 {
		firstErr = waitErr
	}
	if firstErr != nil {
		return deleted, fmt.Errorf("redisstore: delete owned: %w", firstErr)
	}
	return deleted, nil
}
