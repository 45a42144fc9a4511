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
	"github.com/seed96b21533/typedsession/internal/notify"
	"github.com/seed96b21533/typedsession/store"
)

// DefaultMaxSessions is the bound on the number of records of a Store whose
// Options.MaxSessions is zero.
const DefaultMaxSessions = 100_000

const (
	// numShards is the number of record shards, and of owner-index shards.
	numShards = 64
	// windowDivisor sets the probation window: a full store evicts protected records
	// only while probation holds fewer than MaxSessions/windowDivisor records.
	windowDivisor = 10
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
	// yet removed. When the Store is full, Create evicts a record first, taking
	// sessions that were not used again after their creation before those that came
	// back or have an owner (see "Memory is bounded" in the package documentation).
	// Concurrent Creates on a full store may pass the bound briefly, by at most their
	// number. Zero means DefaultMaxSessions (100 000); a negative value is an error from
	// New.
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
	_ store.Notifier   = (*Store)(nil)
	_ store.Immediate  = (*Store)(nil)
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
	k := &kv{max: int64(limit), window: int64(limit / windowDivisor), now: now, seed: maphash.MakeSeed()}
	for i := range k.shards {
		k.shards[i].m = make(map[string]*entry)
		k.owners[i].m = make(map[string]map[string]struct{})
	}
	return &Store{KVStore: store.KVStore{KV: k}, kv: k}, nil
}

// Notify implements [store.Notifier]: fn hears of every session the Store evicts to
// make room (store.Evicted) or removes after it expired, by DeleteExpired, the
// sweeper, or eviction coming across it (store.Expired).
func (s *Store) Notify(fn func(store.Removal)) (cancel func()) {
	return s.kv.subs.Add(fn)
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
	max    int64
	window int64                  // below this many in probation, eviction takes protected records
	count  atomic.Int64           // records held, plus Creates in flight that reserved room
	tiers  [numTiers]atomic.Int64 // records held in each tier, over all shards
	now    func() time.Time
	seed   maphash.Seed // for the owner-index shards
	subs   notify.List  // store.Notifier: who hears of evictions and cleanups

	shards [numShards]shard
	owners [numShards]ownerShard
}

// Lock order: a record shard's lock, then an owner shard's lock; never the reverse, and
// never two shards of one kind at once.

type shard struct {
	mu    sync.RWMutex
	m     map[string]*entry
	lists [numTiers]list // the shard's entries, by tier
}

type ownerShard struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{} // owner -> set of keys
}

// tier is the eviction class of a record. A full store evicts from probation first,
// while it holds at least kv.window records, then from returned, then from owned.
type tier uint8

const (
	// probation holds the records without an owner that have not been found used since
	// they were created, oldest first. An entry found used when eviction reaches it is
	// promoted to returned instead of evicted.
	probation tier = iota
	// returned holds the records without an owner that were used again (read, touched
	// or written after their creation, or created by a renewal), and markers.
	returned
	// owned holds the records with an owner, markers excepted.
	owned
	numTiers
)

// createTier returns the tier of a record stored by Create. A renewal creates the
// session anew with its old Created: it came back.
func createTier(rec *store.Record) tier {
	switch {
	case indexOwner(rec) != "":
		return owned
	case rec.Ended != store.NotEnded || rec.Version > 1 || rec.Active.After(rec.Created):
		return returned
	}
	return probation
}

// entry is a stored record. Its Data is owned by the store and never escapes uncopied.
type entry struct {
	rec        stored
	key        string
	prev, next *entry // in its shard's list of its tier
	tier       tier
	// uses counts the uses of the record (reads, touches, updates) up to maxUses; an
	// eviction that passes over a used record takes one off. It is the clock that
	// approximates least recently used, with a memory of frequency.
	uses atomic.Uint32
}

// maxUses is where entry.uses stops counting: a record used often survives that many
// passes of eviction without being used again.
const maxUses = 3

// use counts a use of e. It is called with the shard's lock held for reading or
// writing; it writes only while the count is below maxUses, so that readers of one
// record do not contend. A count lost to a concurrent use is of no consequence.
func (e *entry) use() {
	if n := e.uses.Load(); n < maxUses {
		e.uses.CompareAndSwap(n, n+1)
	}
}

// list is a doubly linked list of entries, oldest first.
type list struct {
	head, tail *entry
}

func (l *list) pushBack(e *entry) {
	e.prev, e.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *list) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// link adds e to the end of the list of tier t of sh, whose lock is held.
func (k *kv) link(sh *shard, e *entry, t tier) {
	e.tier = t
	sh.lists[t].pushBack(e)
	k.tiers[t].Add(1)
}

// unlink removes e from its list in sh, whose lock is held.
func (k *kv) unlink(sh *shard, e *entry) {
	sh.lists[e.tier].remove(e)
	k.tiers[e.tier].Add(-1)
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

// stored is a Record as an entry keeps it: its times as Unix milliseconds, the
// precision the Manager gives them, in 24 bytes where three time.Time take 72.
type stored struct {
	Data                    []byte
	Owner                   string
	Version                 uint64
	expiry, created, active int64 // Unix ms; 0 for the zero time
	RememberMe              bool
	Ended                   store.EndReason
}

func pack(r store.Record) stored {
	return stored{
		Data:       r.Data,
		Owner:      r.Owner,
		Version:    r.Version,
		expiry:     unixMilli(r.Expiry),
		created:    unixMilli(r.Created),
		active:     unixMilli(r.Active),
		RememberMe: r.RememberMe,
		Ended:      r.Ended,
	}
}

func (s *stored) record() store.Record {
	return store.Record{
		Data:       s.Data,
		Expiry:     fromMilli(s.expiry),
		Created:    fromMilli(s.created),
		Active:     fromMilli(s.active),
		Version:    s.Version,
		Owner:      s.Owner,
		RememberMe: s.RememberMe,
		Ended:      s.Ended,
	}
}

// live reports whether s has not expired at now.
func (s *stored) live(now time.Time) bool { return now.UnixMilli() < s.expiry }

// indexOwner returns the owner under whose index s belongs: its Owner, or "" (no
// index) for a marker.
func (s *stored) indexOwner() string {
	if s.Ended != store.NotEnded {
		return ""
	}
	return s.Owner
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
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
	if e == nil || !e.rec.live(now) {
		sh.mu.RUnlock()
		return store.Record{}, false, nil
	}
	rec := e.rec.record()
	e.use()
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
	if old != nil && old.rec.live(now) {
		sh.mu.Unlock()
		k.count.Add(-1)
		return errExists
	}
	if old != nil {
		// An expired record is replaced: its removal gives back the room reserved.
		k.removeEntry(sh, old)
	}
	e := &entry{rec: pack(rec), key: key}
	sh.m[key] = e
	k.link(sh, e, createTier(&rec))
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
	if e == nil || !e.rec.live(now) {
		return errGone
	}
	if e.rec.Version != version {
		return errVersion
	}
	if e.rec.indexOwner() != indexOwner(&rec) {
		// A session becoming a marker leaves its owner's index.
		k.unindex(e.rec.indexOwner(), key)
		k.index(indexOwner(&rec), key)
	}
	// A record in probation stays there, used, until eviction promotes it; an owned
	// session becoming a marker is no longer owned.
	t := e.tier
	switch {
	case indexOwner(&rec) != "":
		t = owned
	case t == owned:
		t = returned
	}
	if t != e.tier {
		k.unlink(sh, e)
		k.link(sh, e, t)
	}
	e.rec = pack(rec)
	e.use()
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
	if e := sh.m[key]; e != nil && e.rec.live(now) {
		e.rec.active, e.rec.expiry = unixMilli(active), unixMilli(expiry)
		e.use()
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
	k.removeEntry(sh, e)
	return e.rec.record(), true
}

// removeEntry removes e from sh, whose lock is held, from its tier's list and from the
// owner index.
func (k *kv) removeEntry(sh *shard, e *entry) {
	delete(sh.m, e.key)
	k.count.Add(-1)
	k.unlink(sh, e)
	k.unindex(e.rec.indexOwner(), e.key)
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
		if e := sh.m[key]; e != nil && e.rec.indexOwner() == owner && e.rec.live(now) {
			rec := e.rec.record()
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
		if e := sh.m[key]; e != nil && e.rec.indexOwner() == owner {
			if rec, _ := k.removeLocked(sh, key); live(&rec, now) {
				deleted = append(deleted, key)
			}
		}
		sh.mu.Unlock()
	}
	return deleted, nil
}

// makeRoom removes at least one record, if the store holds any. It evicts from
// probation while probation holds at least k.window records, then from returned, then
// from owned, and from any tier when the counts changed under it. Each tier is looked
// for in the shard of key first, then in the next shards, one lock at a time.
func (k *kv) makeRoom(key string) {
	start := 0
	if key != "" {
		start = int(key[0] % numShards)
	}
	now := k.now()
	if k.tiers[probation].Load() >= k.window && k.evict(start, probation, now) {
		return
	}
	if k.tiers[returned].Load() > 0 && k.evict(start, returned, now) {
		return
	}
	if k.tiers[owned].Load() > 0 && k.evict(start, owned, now) {
		return
	}
	for t := range numTiers {
		if k.evict(start, t, now) {
			return
		}
	}
}

// evict removes a record of tier t (or an expired one) from the first shard from start
// on that has one, and reports whether it removed one.
func (k *kv) evict(start int, t tier, now time.Time) bool {
	for i := range numShards {
		sh := &k.shards[(start+i)%numShards]
		sh.mu.Lock()
		removed := k.evictLocked(sh, t, now)
		sh.mu.Unlock()
		if removed != nil {
			if r, ok := k.removal(removed, now, store.Evicted); ok {
				k.subs.Notify(r)
			}
			return true
		}
	}
	return false
}

// removal returns the store.Removal that reports e removed at now, and false for a
// marker, which is no session, or when nobody listens. An expired record is reported
// as store.Expired, whatever removed it.
func (k *kv) removal(e *entry, now time.Time, why store.RemovalReason) (store.Removal, bool) {
	if !k.subs.Active() || e.rec.Ended != store.NotEnded {
		return store.Removal{}, false
	}
	if !e.rec.live(now) {
		why = store.Expired
	}
	return store.Removal{ID: store.KeyID(e.key), Owner: e.rec.Owner, Reason: why, Time: now}, true
}

// evictLocked removes a record of tier t from sh, whose lock is held, and returns it,
// or nil if it removed none. It takes the oldest record of the list that has expired or
// whose use count is zero; it passes over the others, taking one off their count and
// moving them to the end of their list, or, in probation, promoting them to returned.
// Every pass lowers a count, so the loop ends within maxUses turns of the list; a
// record is promoted once, so a Create pays for promotions amortised. Before evicting
// a protected record it takes an expired one at the head of probation.
func (k *kv) evictLocked(sh *shard, t tier, now time.Time) *entry {
	if e := sh.lists[probation].head; t != probation && e != nil && !e.rec.live(now) {
		k.removeEntry(sh, e)
		return e
	}
	l := &sh.lists[t]
	for e := l.head; e != nil; e = l.head {
		if n := e.uses.Load(); n > 0 && e.rec.live(now) {
			e.uses.Store(n - 1)
			if t == probation {
				k.unlink(sh, e)
				k.link(sh, e, returned)
			} else {
				l.remove(e)
				l.pushBack(e)
			}
			continue
		}
		k.removeEntry(sh, e)
		return e
	}
	return nil
}

func (k *kv) deleteExpired(ctx context.Context) (int, error) {
	n := 0
	var removed []store.Removal
	for i := range k.shards {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		now := k.now()
		sh := &k.shards[i]
		removed = removed[:0]
		sh.mu.Lock()
		for key, e := range sh.m {
			if !e.rec.live(now) {
				k.removeLocked(sh, key)
				n++
				if r, ok := k.removal(e, now, store.Expired); ok {
					removed = append(removed, r)
				}
			}
		}
		sh.mu.Unlock()
		k.subs.Notify(removed...)
	}
	return n, nil
}
