package memstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/cleanup"
	"github.com/seed96b21533/typedsession/store"
)

// DefaultMaxSessions is the bound on the number of records of a Store whose
// Options.MaxSessions is zero.
const DefaultMaxSessions = 100_000

const (
	// numShards is the number of record shards, and of owner-index shards.
	numShards = 64
	// evictSample is how many records of a shard an eviction looks at.
	evictSample = 8
)

// Errors wrapping typedsession.ErrConflict, made once so that a conflict costs no
// allocation.
var (
	errExists  = fmt.Errorf("memstore: a live record exists at the key: %w", typedsession.ErrConflict)
	errVersion = fmt.Errorf("memstore: the record is at another version: %w", typedsession.ErrConflict)
	errGone    = fmt.Errorf("memstore: no live record at the key: %w", typedsession.ErrConflict)
)

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// MaxSessions bounds the number of records the Store holds, live or expired but not
	// yet removed. When the Store is full, Create samples a few records (from the shard
	// of its key, or the next shard that has any), removes those that have expired, and
	// when none has, evicts the one closest to its expiry. Concurrent Creates on a full
	// store may pass the bound briefly, by at most their number. Zero means
	// DefaultMaxSessions (100 000); a negative value is an error from New.
	MaxSessions int

	// Now is the clock used to decide whether a record has expired. Nil means time.Now.
	// Tests set it to move time without sleeping.
	Now func() time.Time
}

// Store is a [store.Store] that keeps sessions in memory. Its embedded
// [store.KVStore] holds the store's [store.KV], which also implements
// [store.OwnerKV]. Create one with [New]; it is safe for concurrent use.
type Store struct {
	store.KVStore

	kv *kv

	cleanup cleanup.Runner
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.OwnerStore = (*Store)(nil)
	_ store.OwnerKV    = (*kv)(nil)
)

// New returns an empty Store configured by o, or an error if o is invalid. It starts no
// goroutine: call [Store.StartCleanup] for a background sweeper of expired records.
func New(o Options) (*Store, error) {
	limit := o.MaxSessions
	if limit < 0 {
		return nil, fmt.Errorf("memstore: Options.MaxSessions is %d; want 0 (the default) or more", limit)
	}
	if limit == 0 {
		limit = DefaultMaxSessions
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	k := &kv{max: int64(limit), now: now, seed: maphash.MakeSeed()}
	for i := range k.shards {
		k.shards[i].m = make(map[string]*entry)
		k.owners[i].m = make(map[string]map[string]struct{})
	}
	return &Store{KVStore: store.KVStore{KV: k}, kv: k}, nil
}

// Immediate implements [store.Immediate]: a Store does no I/O, and holds a lock no
// longer than a map operation (or a small sample, to make room).
func (s *Store) Immediate() bool { return true }

// Len returns the number of records the Store holds, including expired records not yet
// removed.
func (s *Store) Len() int {
	return int(s.kv.count.Load())
}

// DeleteExpired removes every record whose Expiry has passed and returns how many it
// removed. It holds one shard's lock at a time, and returns ctx.Err() when ctx is done
// (with the count of the records removed until then).
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	return s.kv.deleteExpired(ctx)
}

// StartCleanup starts a goroutine that calls [Store.DeleteExpired] every interval, until
// [Store.Close]. If a sweeper already runs, it is replaced by one with the new interval.
// StartCleanup panics if interval is not positive.
func (s *Store) StartCleanup(interval time.Duration) {
	if interval <= 0 {
		panic("memstore: StartCleanup interval must be positive")
	}
	s.cleanup.Start(interval, func(ctx context.Context) {
		s.kv.deleteExpired(ctx) // the only possible error is ctx's, which ends the loop
	})
}

// Close stops the sweeper started by [Store.StartCleanup] and returns once it has
// stopped. It is safe to call more than once, and when no sweeper runs. The Store remains
// usable after Close. Close always returns nil.
func (s *Store) Close() error {
	s.cleanup.Stop()
	return nil
}

// kv is the Store's store.KV and store.OwnerKV.
type kv struct {
	max   int64
	count atomic.Int64 // records held, plus Creates in flight that reserved room
	now   func() time.Time
	seed  maphash.Seed // for the owner-index shards

	shards [numShards]shard
	owners [numShards]ownerShard
}

// Lock order: a record shard's lock, then an owner shard's lock; never the reverse, and
// never two shards of one kind at once.

type shard struct {
	mu sync.RWMutex
	m  map[string]*entry
}

type ownerShard struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{} // owner -> set of keys
}

// entry is a stored record. Its Data is owned by the store and never escapes uncopied.
type entry struct {
	rec store.Record
}

func (k *kv) shard(key string) *shard {
	if key == "" {
		return &k.shards[0]
	}
	return &k.shards[key[0]%numShards]
}

func (k *kv) ownerShard(owner string) *ownerShard {
	return &k.owners[maphash.String(k.seed, owner)%numShards]
}

// live reports whether rec has not expired at now.
func live(rec *store.Record, now time.Time) bool {
	return now.Before(rec.Expiry)
}

// clone returns a copy of b, nil when b is empty.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// Get implements [store.KV].
func (k *kv) Get(ctx context.Context, key string) (store.Record, bool, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, false, err
	}
	now := k.now()
	sh := k.shard(key)
	sh.mu.RLock()
	e := sh.m[key]
	if e == nil || !live(&e.rec, now) {
		sh.mu.RUnlock()
		return store.Record{}, false, nil
	}
	rec := e.rec
	sh.mu.RUnlock()
	// Stored Data is never written to (Update replaces the slice), so it can be copied
	// outside the lock.
	rec.Data = clone(rec.Data)
	return rec, true, nil
}

// Create implements [store.KV].
func (k *kv) Create(ctx context.Context, key string, rec store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec.Data = clone(rec.Data)
	sh := k.shard(key)
	// Reserve room before taking the shard's lock, so that eviction, which locks other
	// shards, never runs under it.
	if k.count.Add(1) > k.max {
		k.makeRoom(key)
	}
	now := k.now()
	sh.mu.Lock()
	old := sh.m[key]
	if old != nil && live(&old.rec, now) {
		sh.mu.Unlock()
		k.count.Add(-1)
		return errExists
	}
	sh.m[key] = &entry{rec: rec}
	if old != nil {
		// An expired record is replaced: the reservation was not needed.
		k.count.Add(-1)
		k.unindex(indexOwner(&old.rec), key)
	}
	k.index(indexOwner(&rec), key)
	sh.mu.Unlock()
	return nil
}

// Update implements [store.KV].
func (k *kv) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec.Data = clone(rec.Data)
	now := k.now()
	sh := k.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[key]
	if e == nil || !live(&e.rec, now) {
		return errGone
	}
	if e.rec.Version != version {
		return errVersion
	}
	if indexOwner(&e.rec) != indexOwner(&rec) {
		// A session becoming a marker leaves its owner's index.
		k.unindex(indexOwner(&e.rec), key)
		k.index(indexOwner(&rec), key)
	}
	e.rec = rec
	return nil
}

// Touch implements [store.KV].
func (k *kv) Touch(ctx context.Context, key string, active, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := k.now()
	sh := k.shard(key)
	sh.mu.Lock()
	if e := sh.m[key]; e != nil && live(&e.rec, now) {
		e.rec.Active, e.rec.Expiry = active, expiry
	}
	sh.mu.Unlock()
	return nil
}

// Delete implements [store.KV].
func (k *kv) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := k.shard(key)
	sh.mu.Lock()
	k.removeLocked(sh, key)
	sh.mu.Unlock()
	return nil
}

// removeLocked removes the record at key, if any, from sh, whose lock is held, and from
// the owner index. It reports whether there was a record.
func (k *kv) removeLocked(sh *shard, key string) (store.Record, bool) {
	e := sh.m[key]
	if e == nil {
		return store.Record{}, false
	}
	delete(sh.m, key)
	k.count.Add(-1)
	k.unindex(indexOwner(&e.rec), key)
	return e.rec, true
}

// indexOwner returns the owner under whose index rec belongs: its Owner, or "" (no
// index) for a marker.
func indexOwner(rec *store.Record) string {
	if rec.Ended != store.NotEnded {
		return ""
	}
	return rec.Owner
}

func (k *kv) index(owner, key string) {
	if owner == "" {
		return
	}
	osh := k.ownerShard(owner)
	osh.mu.Lock()
	keys := osh.m[owner]
	if keys == nil {
		keys = make(map[string]struct{}, 1)
		osh.m[owner] = keys
	}
	keys[key] = struct{}{}
	osh.mu.Unlock()
}

func (k *kv) unindex(owner, key string) {
	if owner == "" {
		return
	}
	osh := k.ownerShard(owner)
	osh.mu.Lock()
	if keys := osh.m[owner]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(osh.m, owner)
		}
	}
	osh.mu.Unlock()
}

// ownedKeys returns the keys the index holds for owner.
func (k *kv) ownedKeys(owner string) []string {
	if owner == "" {
		return nil
	}
	osh := k.ownerShard(owner)
	osh.mu.RLock()
	defer osh.mu.RUnlock()
	keys := make([]string, 0, len(osh.m[owner]))
	for key := range osh.m[owner] {
		keys = append(keys, key)
	}
	return keys
}

// Owned implements [store.OwnerKV]. Records without an Owner are never listed.
func (k *kv) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keys := k.ownedKeys(owner)
	now := k.now()
	out := make(map[string]store.Record, len(keys))
	for _, key := range keys {
		sh := k.shard(key)
		sh.mu.RLock()
		if e := sh.m[key]; e != nil && indexOwner(&e.rec) == owner && live(&e.rec, now) {
			rec := e.rec
			rec.Data = clone(rec.Data)
			out[key] = rec
		}
		sh.mu.RUnlock()
	}
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]. It returns the keys of the live sessions it
// deleted; expired records of owner are removed too, unreported. Records without an
// Owner are never deleted by it.
func (k *kv) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var deleted []string
	now := k.now()
	for _, key := range k.ownedKeys(owner) {
		if key == except {
			continue
		}
		sh := k.shard(key)
		sh.mu.Lock()
		if e := sh.m[key]; e != nil && indexOwner(&e.rec) == owner {
			if rec, _ := k.removeLocked(sh, key); live(&rec, now) {
				deleted = append(deleted, key)
			}
		}
		sh.mu.Unlock()
	}
	return deleted, nil
}

// makeRoom removes at least one record, if the store holds any: it samples a few
// records of the shard of key, or of the next shard that has any, removes the expired
// ones among them, and when none has expired, the one closest to its expiry. Go's map
// iteration starts at a random place, which makes the sample.
func (k *kv) makeRoom(key string) {
	start := 0
	if key != "" {
		start = int(key[0] % numShards)
	}
	now := k.now()
	for i := range numShards {
		sh := &k.shards[(start+i)%numShards]
		sh.mu.Lock()
		removed := false
		var victim string
		var victimExpiry time.Time
		seen := 0
		for key, e := range sh.m {
			if !live(&e.rec, now) {
				k.removeLocked(sh, key)
				removed = true
			} else if victim == "" || e.rec.Expiry.Before(victimExpiry) {
				victim, victimExpiry = key, e.rec.Expiry
			}
			if seen++; seen == evictSample {
				break
			}
		}
		if !removed && victim != "" {
			k.removeLocked(sh, victim)
			removed = true
		}
		sh.mu.Unlock()
		if removed {
			return
		}
	}
}

func (k *kv) deleteExpired(ctx context.Context) (int, error) {
	n := 0
	for i := range k.shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		now := k.now()
		sh := &k.shards[i]
		sh.mu.Lock()
		for key, e := range sh.m {
			if !live(&e.rec, now) {
				k.removeLocked(sh, key)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}
