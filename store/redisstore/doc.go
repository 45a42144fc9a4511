// Package redisstore keeps typedsession sessions in Redis, through
// [github.com/redis/rueidis].
//
//	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
//	...
//	st, err := redisstore.New(client, redisstore.Options{})
//	...
//	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
//
// [New] returns a [Store], a [store.Store] over a [store.KV] on Redis.
// The caller owns the client and closes it; the store starts nothing and does no I/O
// until it is used. Redis 7.0 or later is required (PXAT, GETDEL, PEXPIRETIME and the
// NX/GT options of PEXPIREAT).
//
// # Key layout
//
// A session is one Redis string at Options.Prefix (default "session:") followed by the
// 32 raw bytes of its key, the SHA-256 of the token: a leaked keyspace yields no usable
// token. The value is the record's binary encoding ([store.Record.AppendBinary]),
// whose version sits at bytes 1-8 so that a script compares it without decoding. Redis
// expires the key at the record's Expiry (PXAT, PEXPIREAT), so no sweeper is needed;
// a record is also treated as gone from its Expiry on, even in the millisecond before
// Redis drops it.
//
// A session with an Owner is also a member of the set Prefix+"owner:"+owner, whose
// expiry is kept at the latest expiry of its sessions, so that listing and
// ending the sessions of an owner (log out everywhere) finds them. A session without an Owner never
// touches a set.
//
// # Operations
//
// Get is one GET. Create is SET NX PXAT. Update is one EVALSHA of a script (through
// [rueidis.Lua], which falls back to EVAL after a script cache flush) that writes only
// if the stored version is the one that was read and the record is live, so a late
// write never brings back a deleted session. Touch is one script that rewrites the 8
// bytes of the expiry in place and moves the key's expiry; the data is not sent. Delete
// is one GETDEL.
//
// A session without an Owner costs nothing more. For a session with one, Create sends
// one more command in the same round trip (a script that adds the key to the owner's
// set and extends the set's expiry), Update sends the script whole (EVAL) with a
// PEXPIREAT GT of the set in the same round trip, and Touch and Delete take a second
// round trip (the owner is read from the record: PEXPIREAT GT, or SREM).
//
// Not found is a value; every other failure (a network error, a timeout, a closed
// client) is an error, never "not found".
//
// rueidis retries read-only commands (GET) on network errors until the context is done,
// so a Get during an outage waits for Redis to return or for the request's deadline.
// Give requests a deadline (a context timeout in a middleware), or set the client's
// DisableRetry or RetryDelay, so that an outage fails fast through the Manager's
// ErrorHandler. Writes are never retried by rueidis.
//
// # Cluster and Sentinel
//
// Every command and script touches a single key, so the store works unchanged with a
// standalone server, Sentinel and Redis Cluster clients. A session and its owner's set
// may live in different slots; they are never touched by one command. Listing and
// ending the sessions of an owner pipeline one command per session, which rueidis splits by slot. A
// Prefix with a hash tag ("{sessions}:") puts every session in one slot, on one node;
// the default spreads sessions over the cluster.
//
// # Client-side caching
//
// With Options.CacheTTL set, Get uses rueidis client-side caching (RESP3 tracking):
// a read of a session that has not changed since this client cached it makes no round
// trip. Writes are never served from the cache and are checked by version in Redis, so
// a stale read can never make an Update succeed: it fails with
// [typedsession.ErrConflict], and the Manager reloads and retries.
//
// The staleness window: Redis sends an invalidation after the reply to the write that
// caused it, so a Get through another client (another process) can return the previous
// version of a session until the invalidation arrives, normally within a network round
// trip of the write, and at most CacheTTL later if invalidations were lost without the
// connection breaking. Writes made through the same [Store] are read back at once: the store
// remembers, for CacheTTL, the state its own writes left, and bypasses a cached reply
// that predates it. When the connection to Redis breaks, rueidis drops the cache, so a
// Get during an outage is an error, never a cached record nobody can invalidate.
// Caching costs client memory (rueidis's CacheSizeEachConn) and is off by default.
package redisstore
