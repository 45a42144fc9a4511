// Package memstore keeps sessions in the memory of one process.
//
// It is the store for tests, for development and for a single-instance service that
// can afford to log everybody out on restart. Sessions are lost when the process exits
// and are not shared between processes: use store/redisstore or store/pgstore when more
// than one process serves the same users.
//
//	st, err := memstore.New(memstore.Options{})
//	...
//	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
//
// # Memory is bounded
//
// Unlike the MemoryStore of Express's express-session, which grows without limit until
// the process runs out of memory, a Store holds at most [Options.MaxSessions] records
// (100 000 by default). When it is full, creating a session makes room: it samples a
// few records, removes those that have expired, and when none has, evicts the one
// closest to its expiry, much as Redis approximates its volatile-ttl policy. An evicted
// user is logged out. Size MaxSessions for the number of live sessions you expect, with
// room to spare, and run a sweeper so that expired records do not take the room of live
// ones.
//
// # Expiry
//
// A record is not found from its Expiry on, whether or not it has been removed: expiry is
// enforced when a record is read. Expired records are removed when a Create needs room,
// by [Store.DeleteExpired], or by a background sweeper started with
// [Store.StartCleanup] and stopped with [Store.Close]. [New] starts nothing; without a
// sweeper, expired records occupy memory until a full store needs their room.
//
// # Concurrency and copies
//
// A Store is safe for concurrent use. Records are spread over 64 shards by the first
// byte of their key (keys are SHA-256 digests, so uniform), each a map behind its own
// read-write lock, so readers never wait for each other and writers rarely meet.
// The Data of a record is copied when it is stored and when it is returned, so neither
// the caller nor the store can change the other's bytes: a Get costs one allocation, of
// the size of the Data.
//
// # Log out everywhere
//
// The store's KV implements [store.OwnerKV], so a [Store] is a
// [store.OwnerStore]: it keeps an index from owner to keys, updated on create,
// update, delete, eviction and expiry, and lists or ends every session of one owner
// without scanning the others.
package memstore
