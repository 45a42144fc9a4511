package redisstore

import (
	"bytes"
	"context"
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
// no client-side caching, writes done when the master has them.
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

	// WaitReplicas, when positive, makes every write (Create, Update, Touch, Delete,
	// DeleteOwned, and the additions to an owner's index that go with them) wait until
	// that many replicas have acknowledged it, with Redis WAIT sent on the write's own
	// connection in the same round trip, so that a write reported as done survives
	// the failover of its master. A write that fewer replicas acknowledge within half
	// the time left before its context's deadline (1 second without a deadline) is an
	// error wrapping [ErrNotReplicated] (the Manager reports it as
	// typedsession.ErrUnavailable); the master has applied it nevertheless.
	// Default 0: a write is done when the master has applied it, and a failover can
	// lose the last writes acknowledged (a login, or a logout, undone). See "Failover
	// and durability" in the package documentation for what each mode promises, and
	// costs.
	WaitReplicas int
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
	replicas int  // Options.WaitReplicas
	cluster  bool // the client is a Cluster client: a WAIT per slot

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
	if opts.WaitReplicas < 0 {
		return nil, fmt.Errorf("redisstore: Options.WaitReplicas is %d; want 0 (off) or more", opts.WaitReplicas)
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
		replicas: opts.WaitReplicas,
		cluster:  client.Mode() == rueidis.ClientModeCluster,
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
	b, err := rec.AppendBinary(make([]byte, 0, rec.EncodedLen()))
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
//
// The GET commands are pinned (never recycled by rueidis): rueidis retries a GET whose
// connection broke on another connection and may recycle the command while the broken
// connection's writer still reads it, which the race detector reports.
func (k *kv) Get(ctx context.Context, key string) (store.Record, bool, error) {
	if k.cacheTTL <= 0 {
		return k.parse(k.client.Do(ctx, k.client.B().Get().Key(k.key(key)).Build().Pin()), key, false)
	}
	m, marked := k.marks.Load(key)
	rec, found, err := k.parse(k.client.DoCache(ctx, k.client.B().Get().Key(k.key(key)).Cache().Pin(), k.cacheTTL), key, true)
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
	return k.parse(k.client.Do(ctx, k.client.B().Get().Key(k.key(key)).Build().Pin()), key, false)
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
