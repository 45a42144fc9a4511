package redisstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// DefaultPrefix is the key prefix used when [Options].Prefix is empty.
const DefaultPrefix = "session:"

// Options configures a [Store]. The zero value is the default: keys under "session:",
// no client-side caching.
type Options struct {
	// Prefix is prepended to every key the store writes. Default [DefaultPrefix].
	// Give each application sharing a Redis its own prefix. A prefix with a hash tag
	// ("{sessions}:") puts every session in one cluster slot; the default spreads them.
	Prefix string

	// CacheTTL, when positive, serves Get from rueidis client-side caching: a read of a
	// session that has not changed since it was cached makes no round trip. An entry
	// lives at most CacheTTL (and never past the key's expiry). Writes are not cached
	// and stay correct whatever a cached read returned, through the version check; see
	// "Client-side caching" in the package documentation for the staleness window.
	// Default 0: off, every Get is one GET. The client must have caching enabled
	// (rueidis's default; with ClientOption.DisableCache a cached Get is a plain GET).
	CacheTTL time.Duration
}

// Store is a [store.Store] that keeps sessions in Redis, and a [store.OwnerStore]:
// log out everywhere is supported. Its KVStore holds the [store.KV] on Redis, which also
// implements [store.OwnerKV]. Create one with [New]; it is safe for concurrent use.
type Store struct {
	store.KVStore
}

// kv is the [store.KV] and [store.OwnerKV] on Redis behind a [Store].
type kv struct {
	client   rueidis.Client
	prefix   string
	ownerPfx string
	cacheTTL time.Duration

	// With caching on, marks holds the state this KV last wrote at a key (key -> *mark),
	// so that a cached read that predates the write is not returned: Redis sends the
	// invalidation after the write's reply, so without marks a Get right after an
	// Update through this same KV could see the old record.
	marks  sync.Map
	nmarks atomic.Uint64
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.OwnerStore = (*Store)(nil)
	_ store.OwnerKV    = (*kv)(nil)
)

// New returns a Store that keeps sessions in Redis through client, which may be a
// standalone, Sentinel or Cluster client: every operation touches one key per command
// or script. It returns an error if opts is invalid, and panics if client is nil. New
// does no I/O. The caller keeps ownership of client and closes it.
func New(client rueidis.Client, opts Options) (*Store, error) {
	if client == nil {
		panic("redisstore: New called with a nil rueidis.Client")
	}
	if opts.CacheTTL < 0 {
		return nil, fmt.Errorf("redisstore: Options.CacheTTL is %v; want 0 (off) or more", opts.CacheTTL)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{KVStore: store.KVStore{KV: &kv{
		client:   client,
		prefix:   prefix,
		ownerPfx: prefix + "owner:",
		cacheTTL: opts.CacheTTL,
	}}}, nil
}

// errMalformed reports a value at a session key that is not a record.
var errMalformed = errors.New("redisstore: malformed record")

func (k *kv) key(key string) string { return k.prefix + key }

func (k *kv) ownerKey(owner string) string { return k.ownerPfx + owner }

// ms returns t as Unix milliseconds for PXAT/PEXPIREAT, which reject values below 1.
// A zero or pre-1970 time becomes 1, long past, so Redis drops the key at once.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 1
	}
	return max(t.UnixMilli(), 1)
}

func msArg(t time.Time) string { return strconv.FormatInt(ms(t), 10) }

// encode returns the binary record as a string without copying: the buffer is fresh
// and never written again, so rueidis may hold it for as long as it likes.
func encode(rec store.Record) (string, error) {
	b, err := rec.AppendBinary(make([]byte, 0, 32+len(rec.Owner)+len(rec.Data)))
	if err != nil {
		return "", fmt.Errorf("redisstore: encode: %w", err)
	}
	return rueidis.BinaryString(b), nil
}

// live reports whether rec has not expired: a record at or past its Expiry is gone,
// even in the millisecond before Redis drops it.
func live(rec *store.Record, now time.Time) bool {
	return now.Before(rec.Expiry)
}

// isNil reports whether err is Redis's nil reply, also when wrapped.
func isNil(err error) bool {
	if rueidis.IsRedisNil(err) {
		return true
	}
	var re *rueidis.RedisError
	return errors.As(err, &re) && re.IsNil()
}

// Get implements [store.KV]: one GET, or none when CacheTTL is set and the
// session is cached.
func (k *kv) Get(ctx context.Context, key string) (store.Record, bool, error) {
	if k.cacheTTL <= 0 {
		return k.parse(k.client.Do(ctx, k.client.B().Get().Key(k.key(key)).Build()), key, false)
	}
	m, marked := k.marks.Load(key)
	rec, found, err := k.parse(k.client.DoCache(ctx, k.client.B().Get().Key(k.key(key)).Cache(), k.cacheTTL), key, true)
	if !marked || err != nil {
		return rec, found, err
	}
	if mk := m.(*mark); time.Since(mk.at) > k.cacheTTL || mk.seen(&rec, found) {
		// The cache has caught up with this KV's last write (or any entry older
		// than the write has expired): the mark is no longer needed.
		k.marks.CompareAndDelete(key, m)
		return rec, found, err
	}
	// The cached reply may predate this KV's own write: ask Redis.
	return k.parse(k.client.Do(ctx, k.client.B().Get().Key(k.key(key)).Build()), key, false)
}

// parse turns the reply to a GET of key into a record. A cached reply's bytes are shared
// by every reader of the cache, so the caller gets its own copy of Data; an uncached
// reply is fresh memory, ours alone.
func (k *kv) parse(resp rueidis.RedisResult, key string, cached bool) (store.Record, bool, error) {
	b, err := resp.AsBytes()
	if err != nil {
		if isNil(err) {
			return store.Record{}, false, nil
		}
		return store.Record{}, false, fmt.Errorf("redisstore: get: %w", err)
	}
	var rec store.Record
	if err := rec.UnmarshalBinary(b); err != nil {
		return store.Record{}, false, fmt.Errorf("%w at key %q: %v", errMalformed, k.key(key), err)
	}
	if !live(&rec, time.Now()) {
		return store.Record{}, false, nil
	}
	if cached {
		rec.Data = bytes.Clone(rec.Data)
	}
	return rec, true, nil
}

// mark is the state a write of this KV left at a key, for Get to tell a cached reply
// that predates the write. See KV.marks.
type mark struct {
	at      time.Time
	kind    markKind
	version uint64
	expiry  int64 // Unix ms
}

type markKind uint8

const (
	markUnknown markKind = iota // the write failed in transit: it may or may not have happened
	markWrite                   // Create or Update: version and expiry
	markTouch                   // Touch: expiry only
	markGone                    // Delete
)

// seen reports whether a Get that returned rec and found reflects the write of m (or
// a later one).
func (m *mark) seen(rec *store.Record, found bool) bool {
	switch m.kind {
	case markWrite:
		return found && (rec.Version > m.version || rec.Version == m.version && rec.Expiry.UnixMilli() == m.expiry)
	case markTouch:
		return found && rec.Expiry.UnixMilli() == m.expiry
	case markGone:
		return !found
	}
	return false
}

// markSweep is how many marks are made between two sweeps of the old ones.
const markSweep = 1024

// mark records the state a write left at key, when caching is on.
func (k *kv) mark(key string, kind markKind, version uint64, expiry time.Time) {
	if k.cacheTTL <= 0 {
		return
	}
	now := time.Now()
	k.marks.Store(key, &mark{at: now, kind: kind, version: version, expiry: ms(expiry)})
	if k.nmarks.Add(1)%markSweep == 0 {
		// A mark of a key that is never read again is dropped here, once any cached
		// entry older than its write has expired.
		k.marks.Range(func(key, m any) bool {
			if now.Sub(m.(*mark).at) > k.cacheTTL {
				k.marks.CompareAndDelete(key, m)
			}
			return true
		})
	}
}

// markResult marks key after a write whose error is err: as kind if it happened, as
// unknown if the reply was lost. A write that did not happen (a conflict) leaves the
// cache right and needs no mark.
func (k *kv) markResult(key string, err error, kind markKind, version uint64, expiry time.Time) {
	switch {
	case err == nil:
		k.mark(key, kind, version, expiry)
	case !errors.Is(err, typedsession.ErrConflict):
		k.mark(key, markUnknown, 0, time.Time{})
	}
}

// Create implements [store.KV]: SET NX PXAT. For a record with an Owner, the key
// is added to the owner's set in the same round trip.
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
	set := k.client.B().Set().Key(rkey).Value(val).Nx().PxatMillisecondsTimestamp(ms(rec.Expiry)).Build()
	if rec.Owner == "" {
		return createResult(k.client.Do(ctx, set))
	}
	// The owner's set is a key of its own, maybe in another cluster slot: one more
	// command, in the same round trip.
	res := k.client.DoMulti(ctx,
		set,
		k.client.B().Eval().Script(indexLua).Numkeys(1).Key(k.ownerKey(rec.Owner)).Arg(key, msArg(rec.Expiry)).Build(),
	)
	if err := createResult(res[0]); err != nil {
		return err
	}
	if err := res[1].Error(); err != nil {
		// The session exists but is not indexed, so log-out-everywhere would miss
		// it: take it back (best effort) and report the failure.
		k.client.Do(context.WithoutCancel(ctx), k.client.B().Del().Key(rkey).Build())
		return fmt.Errorf("redisstore: create: index owner: %w", err)
	}
	return nil
}

// indexLua adds ARGV[1] to the owner's set KEYS[1] and makes the set live at least
// until ARGV[2] (Unix ms), so that it outlives every session it indexes. A new set has
// no expiry (PEXPIRETIME -1).
const indexLua = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
`

func createResult(r rueidis.RedisResult) error {
	if err := r.Error(); err != nil {
		if isNil(err) { // NX: the key exists
			return fmt.Errorf("redisstore: create: key exists: %w", typedsession.ErrConflict)
		}
		return fmt.Errorf("redisstore: create: %w", err)
	}
	return nil
}

// ownerLua is a Lua function that returns the Owner of an encoded record, or nil if
// v is not a record. It parses the uvarint length at byte 26 (Lua index 27).
const ownerLua = `
local function owner(v)
  if string.byte(v, 1) ~= 1 then return nil end
  local i, n, m = 27, 0, 1
  while true do
    local b = string.byte(v, i)
    if not b then return nil end
    i = i + 1
    n = n + (b % 128) * m
    if b < 128 then break end
    m = m * 128
  end
  return string.sub(v, i, i + n - 1)
end
`

// liveLua is a Lua function that reports whether v is a record whose Expiry (bytes 9-16)
// is after now (Unix milliseconds), the same check Get makes.
const liveLua = `
local function live(v, now)
  return string.byte(v, 1) == 1 and string.len(v) >= 26 and struct.unpack('>I8', v, 10) > tonumber(now)
end
`

// updateScript replaces KEYS[1] with ARGV[2], expiring at ARGV[3], if it holds a live
// record (ARGV[4] is now) at version ARGV[1] (8 bytes, big-endian, as encoded at
// bytes 1-8). It returns 1 if it wrote, 0 if not.
var updateScript = rueidis.NewLuaScript(updateLua)

const updateLua = liveLua + `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 2, 9) ~= ARGV[1] or not live(v, ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`

// touchScript sets the Expiry of the live record at KEYS[1] to ARGV[1] (8 bytes,
// big-endian, written at bytes 9-16) and its key expiry to ARGV[2] (ms); ARGV[3] is
// now. It returns the record's Owner, or nil if there was no live record.
var touchScript = rueidis.NewLuaScript(liveLua + ownerLua + `
local v = redis.call('GET', KEYS[1])
if not v or not live(v, ARGV[3]) then return nil end
redis.call('SETRANGE', KEYS[1], 9, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return owner(v) or ''
`)

// deleteOwnedScript deletes KEYS[1] if it holds a record whose Owner is ARGV[1], and
// returns 1 if it did.
var deleteOwnedScript = rueidis.NewLuaScript(ownerLua + `
local v = redis.call('GET', KEYS[1])
if v and owner(v) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

func be64(v uint64) string {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
	return rueidis.BinaryString(b)
}

// Update implements [store.KV]: one script (EVALSHA) that compares the stored
// version and writes, atomically. For a record with an Owner, the owner's set then has
// its expiry extended to the record's if that is later.
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
	var res, ext rueidis.RedisResult
	if rec.Owner == "" {
		res = updateScript.Exec(ctx, k.client, keys, args)
	} else {
		// The owner's set must outlive the session: extend it in the same round trip
		// (a script sent whole, as a pipeline cannot carry the EVALSHA fallback).
		r := k.client.DoMulti(ctx,
			k.client.B().Eval().Script(updateLua).Numkeys(1).Key(keys...).Arg(args...).Build(),
			k.client.B().Pexpireat().Key(k.ownerKey(rec.Owner)).MillisecondsTimestamp(ms(rec.Expiry)).Gt().Build(),
		)
		res, ext = r[0], r[1]
	}
	n, err := res.AsInt64()
	if err != nil {
		return fmt.Errorf("redisstore: update: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("redisstore: update: version changed or session gone: %w", typedsession.ErrConflict)
	}
	if err := ext.Error(); err != nil {
		return fmt.Errorf("redisstore: extend owner index: %w", err)
	}
	return nil
}

// extendOwner makes the owner's set live at least until expiry, so that it outlives
// every session it indexes. A missing set stays missing.
func (k *kv) extendOwner(ctx context.Context, owner string, expiry time.Time) error {
	err := k.client.Do(ctx, k.client.B().Pexpireat().Key(k.ownerKey(owner)).MillisecondsTimestamp(ms(expiry)).Gt().Build()).Error()
	if err != nil {
		return fmt.Errorf("redisstore: extend owner index: %w", err)
	}
	return nil
}

// Touch implements [store.KV]: one script that rewrites the 8 bytes of the
// Expiry in place (SETRANGE) and moves the key's expiry (PEXPIREAT); the data is not
// sent. For a record with an Owner, the owner's set then has its expiry extended.
func (k *kv) Touch(ctx context.Context, key string, expiry time.Time) error {
	owner, err := touchScript.Exec(ctx, k.client,
		[]string{k.key(key)},
		[]string{be64(uint64(ms(expiry))), msArg(expiry), strconv.FormatInt(time.Now().UnixMilli(), 10)},
	).ToString()
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
	if owner != "" {
		return k.extendOwner(ctx, owner, expiry)
	}
	return nil
}

// Delete implements [store.KV]: one GETDEL; for a record with an Owner, an SREM
// from the owner's set follows.
func (k *kv) Delete(ctx context.Context, key string) error {
	err := k.delete(ctx, key)
	k.markResult(key, err, markGone, 0, time.Time{})
	return err
}

func (k *kv) delete(ctx context.Context, key string) error {
	b, err := k.client.Do(ctx, k.client.B().Getdel().Key(k.key(key)).Build()).AsBytes()
	if err != nil {
		if isNil(err) {
			return nil
		}
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	var rec store.Record
	if rec.UnmarshalBinary(b) != nil || rec.Owner == "" {
		return nil
	}
	if err := k.client.Do(ctx, k.client.B().Srem().Key(k.ownerKey(rec.Owner)).Member(key).Build()).Error(); err != nil {
		return fmt.Errorf("redisstore: delete: unindex owner: %w", err)
	}
	return nil
}

// members returns the keys in the owner's set.
func (k *kv) members(ctx context.Context, owner string) ([]string, error) {
	m, err := k.client.Do(ctx, k.client.B().Smembers().Key(k.ownerKey(owner)).Build()).AsStrSlice()
	if err != nil && !isNil(err) {
		return nil, err
	}
	return m, nil
}

func (k *kv) unindex(ctx context.Context, owner string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return k.client.Do(ctx, k.client.B().Srem().Key(k.ownerKey(owner)).Member(keys...).Build()).Error()
}

// Owned implements [store.OwnerKV]: SMEMBERS of the owner's set, then one GET
// per member in one pipeline (split by slot on a cluster). Members whose record is
// gone, expired or of another owner are removed from the set and not returned.
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
		if rec.UnmarshalBinary(b) != nil || rec.Owner != owner || !live(&rec, now) {
			stale = append(stale, keys[i])
			continue
		}
		out[keys[i]] = rec
	}
	if err := k.unindex(ctx, owner, stale); err != nil {
		return nil, fmt.Errorf("redisstore: owned: unindex: %w", err)
	}
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]: SMEMBERS of the owner's set, then for
// each member but except a script that deletes the record if its Owner is owner, then
// one SREM of the members handled.
func (k *kv) DeleteOwned(ctx context.Context, owner, except string) (int, error) {
	keys, err := k.members(ctx, owner)
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete owned: %w", err)
	}
	execs := make([]rueidis.LuaExec, 0, len(keys))
	handled := make([]string, 0, len(keys))
	for _, key := range keys {
		if key == except {
			continue
		}
		execs = append(execs, rueidis.LuaExec{Keys: []string{k.key(key)}, Args: []string{owner}})
		handled = append(handled, key)
	}
	if len(execs) == 0 {
		return 0, nil
	}
	n := 0
	var firstErr error
	done := make([]string, 0, len(handled))
	for i, r := range deleteOwnedScript.ExecMulti(ctx, k.client, execs...) {
		d, err := r.AsInt64()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n += int(d)
		done = append(done, handled[i])
		if d == 1 {
			k.mark(handled[i], markGone, 0, time.Time{})
		}
	}
	if err := k.unindex(ctx, owner, done); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return n, fmt.Errorf("redisstore: delete owned: %w", firstErr)
	}
	return n, nil
}
