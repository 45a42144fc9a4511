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
// A session with an Owner is also a member of the owner's index, the sorted set
// Prefix+"owner:"+owner, scored by the session's Expiry. A session that ends (Renew,
// Destroy, Delete) leaves it; each write to the index, and each listing, drops the
// members whose score has passed; the set itself expires with the latest of its
// sessions. So the index does not grow with renewals and expired logins. Listing and
// ending the sessions of an owner (log out everywhere) read it, and check every record
// it names. A session without an Owner never touches an index. (The first release kept
// the index as a plain set; the first write to it, or the first listing, turns it into
// a sorted set.)
//
// # Operations
//
// Get is one GET. Create is SET NX PXAT. Update is one EVALSHA of a script (through
// [rueidis.Lua], which falls back to EVAL after a script cache flush) that writes only
// if the stored version is the one that was read and the record is live, so a late
// write never brings back a deleted session. Touch is one script that rewrites the 16
// bytes of the last activity and the expiry in place and moves the key's expiry; the
// data is not sent. Delete is one GETDEL.
//
// A session without an Owner costs nothing more. For a session with one, Create and
// Update send the owner's index script (add the key, or raise its score, and extend the
// set) in the same round trip, Update sending its own script whole (EVAL), as a
// pipeline cannot carry the EVALSHA fallback. Touch takes a second round trip for the
// index (the owner is read from the record). A session that ends (Renew and Destroy
// write a marker) leaves the index in a second round trip, once the marker is written
// and not before: a live session is always in its index, so that log out everywhere
// never misses one, even when the end loses a race to another request's change. Delete
// removes the member after the GETDEL. Removing a member is housekeeping: it is not
// waited for and its failure is not an error, as a member left behind lists nothing.
//
// Not found is a value; every other failure (a network error, a timeout, a closed
// client) is an error, never "not found".
//
// rueidis retries read-only commands (GET) on network errors until the context is done,
// so a Get during an outage waits for Redis to return or for the request's deadline,
// which the Manager sets (typedsession.Options.StoreTimeout). Writes are never retried
// by rueidis.
//
// # Cluster and Sentinel
//
// Every command and script touches a single key, so the store works unchanged with a
// standalone server, Sentinel and Redis Cluster clients. A session and its owner's index
// may live in different slots; they are never touched by one command. Listing and ending
// the sessions of an owner pipeline one command per session, which rueidis splits by
// slot. A Prefix with a hash tag ("{sessions}:") puts every session in one slot, on one
// node; the default spreads sessions over the cluster. With Sentinel, give the client
// the Sentinels and the name of the master:
//
//	client, err := rueidis.NewClient(rueidis.ClientOption{
//		InitAddress: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
//		Sentinel:    rueidis.SentinelOption{MasterSet: "mymaster"},
//	})
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
