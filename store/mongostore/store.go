package mongostore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/seed96b21533/typedsession/internal/cleanup"
	"github.com/seed96b21533/typedsession/store"
)

// DefaultBatchSize is the batch size of [Store.DeleteExpired] when Options.BatchSize
// is zero.
const DefaultBatchSize = 1000

// WriteMode says how a Store makes its conditional writes atomic.
type WriteMode int

const (
	// WriteAuto asks the server, once, what it is (the buildInfo command, at
	// [Store.Setup] or at the first write that needs to know): WriteClaimed on
	// FerretDB, WriteInPlace on any other server.
	WriteAuto WriteMode = iota
	// WriteInPlace makes each write one conditional command (an updateOne or
	// replaceOne whose filter holds the condition), which the server applies
	// atomically. This is MongoDB's guarantee for a single document, and the
	// cheapest mode: one round trip per operation.
	WriteInPlace
	// WriteClaimed makes each conditional update take a claim first: a small
	// document whose _id names the session and the version being changed, inserted
	// before the update and deleted after it. Only one writer can insert it, so
	// only one can change a version, even on a server whose conditional updates are
	// not atomic (FerretDB 1.x: see the package documentation). It costs two more
	// round trips per update, three more per touch.
	WriteClaimed
)

// String returns "auto", "in-place" or "claimed".
func (m WriteMode) String() string {
	switch m {
	case WriteAuto:
		return "auto"
	case WriteInPlace:
		return "in-place"
	case WriteClaimed:
		return "claimed"
	}
	return fmt.Sprintf("WriteMode(%d)", int(m))
}

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Writes chooses how conditional writes are made atomic. Default WriteAuto:
	// WriteClaimed on FerretDB, WriteInPlace elsewhere.
	Writes WriteMode

	// BatchSize is the largest number of expired documents that one round of
	// [Store.DeleteExpired] deletes. Default: 1000.
	BatchSize int

	// Logger receives the errors of the background cleanup started by
	// [Store.StartCleanup]. Default: slog.Default().
	Logger *slog.Logger
}

// Store is a [store.Store] that keeps sessions in a MongoDB collection, and a
// [store.OwnerStore]: log out everywhere is supported. Its KVStore holds the
// [store.KV] on MongoDB, which also implements [store.OwnerKV].
//
// A Store is safe for concurrent use.
type Store struct {
	store.KVStore

	kv     *kv
	logger *slog.Logger

	cleanup cleanup.Runner
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.OwnerStore = (*Store)(nil)
	_ store.Notifier   = (*Store)(nil)
	_ store.OwnerKV    = (*kv)(nil)
)

// New returns a Store that keeps its sessions in coll. The collection, its client,
// and their write concern and read preference belong to the caller (see the package
// documentation for what to set). New does no I/O and starts nothing: call
// [Store.Setup] to create the indexes, and [Store.StartCleanup] when Setup says the
// server does not remove expired sessions itself.
//
// New returns an error if opts is invalid (a negative BatchSize, an unknown
// WriteMode), and panics if coll is nil.
func New(coll *mongo.Collection, opts Options) (*Store, error) {
	if coll == nil {
		panic("mongostore: New called with a nil *mongo.Collection")
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("mongostore: Options.BatchSize is %d; want 0 (the default) or more", opts.BatchSize)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Writes < WriteAuto || opts.Writes > WriteClaimed {
		return nil, fmt.Errorf("mongostore: Options.Writes is %v; want WriteAuto, WriteInPlace or WriteClaimed", opts.Writes)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	k := &kv{coll: coll, batch: opts.BatchSize}
	k.mode.Store(int32(opts.Writes))
	return &Store{KVStore: store.KVStore{KV: k}, kv: k, logger: opts.Logger}, nil
}

// DeleteExpired deletes the sessions whose expiry has passed, and returns how many it
// deleted. It works in rounds of Options.BatchSize documents (a find of their _id,
// then a deleteMany of those still expired), so several instances may run it at
// once. It stops early, with ctx's error, when ctx is done.
//
// In claimed mode (see [WriteClaimed]) it deletes a session only a minute after it
// expired, and also deletes the claims that interrupted writes left behind for
// sessions that are gone; they are not counted.
//
// Expired sessions are never returned whether or not they have been deleted;
// deleting them only reclaims space. A server with a TTL index (see [Store.Setup])
// deletes them by itself.
//
// While a function registered with [Store.Notify] is in place, a round finds the
// owner and ended of its documents too, and deletes them one by one: a deleteOne
// each, whose filter holds the _id, the expiry condition, and the owner and ended
// the find read, so that it reports exactly the documents it deleted. A round then
// takes a round trip per document besides its find, where it takes two in all
// otherwise.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	n, err := s.kv.deleteExpired(ctx)
	if err != nil {
		return n, fmt.Errorf("mongostore: delete expired: %w", err)
	}
	return n, nil
}

// Notify implements [store.Notifier]: fn hears of every session (not a marker) that
// [Store.DeleteExpired], or the cleanup started by [Store.StartCleanup], deletes
// through this Store, with its ID, Owner, store.Expired, and the time its deleteOne
// returned. It hears nothing of the documents deleted otherwise: by the server's TTL
// monitor (see [Store.Setup]), which removes expired documents without telling the
// Store, by another Store on the same collection, or by your own commands.
func (s *Store) Notify(fn func(store.Removal)) (cancel func()) {
	return s.kv.subs.Add(fn)
}

// StartCleanup starts a goroutine that calls [Store.DeleteExpired] every interval
// until [Store.Close]. Each call has a deadline, the interval or 30 seconds if that is
// longer, so that a server that stalls holds the cleanup up that long at most; its
// errors go to Options.Logger. Calling StartCleanup again replaces the running cleanup
// with one at the new interval. StartCleanup panics if interval is not positive.
func (s *Store) StartCleanup(interval time.Duration) {
	if interval <= 0 {
		panic("mongostore: StartCleanup interval must be positive")
	}
	s.cleanup.Start(interval, func(ctx context.Context) {
		n, err := s.DeleteExpired(ctx)
		if err != nil && !cleanup.Stopped(ctx) {
			s.logger.LogAttrs(ctx, slog.LevelError, "mongostore: deleting expired sessions failed",
				slog.String("collection", s.kv.coll.Name()), slog.Int("deleted", n), slog.Any("error", err))
		}
	})
}

// Close stops the cleanup started by [Store.StartCleanup] and waits for it to return.
// It does not disconnect the client, which belongs to the caller. Close may be called
// more than once, and without a cleanup running; it returns nil.
func (s *Store) Close() error {
	s.cleanup.Stop()
	return nil
}
