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
// pipeline cannot carry the EVALSHA fallback. On a Cluster, where the index may live on
// another node and the commands of one round trip to two nodes run in parallel, Create
// adds the member in a second round trip once the record is written: a member whose
// record is not there yet would look stale to a listing running at that moment, and be
// dropped from the index. Touch takes a second round trip for the
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
// # Failover and durability
//
// Redis replicates asynchronously: a master acknowledges a write before any replica
// has it. When a master dies, Sentinel or the Cluster promotes one of its replicas,
// and rueidis follows the new master without a restart of the application. During the
// promotion, requests fail through the Manager's ErrorHandler (503 by default) within
// typedsession.Options.StoreTimeout: never "no session", never another user's
// session. What the promoted replica lacks is lost, and what is lost depends on the
// mode.
//
// By default a write is done when the master has applied it. The writes the master
// acknowledged in its last moments, before a replica got them, are undone by a
// failover: an update rolled back, a login lost (the user is logged out), and a logout
// undone, so that a session its user ended, or an administrator revoked, is alive
// again, for whoever holds its cookie, until it expires.
//
// With Options.WaitReplicas set to N, every write waits, on its own connection and in
// the same round trip, until N replicas have acknowledged it (Redis WAIT). A write
// that returns nil is on N replicas; when fewer acknowledge it within half the time
// left before the context's deadline (1 second without one), it is an error wrapping
// [ErrNotReplicated], and the Manager reports it as typedsession.ErrUnavailable. Such a
// write was applied on the master nevertheless, and may or may not survive a
// failover: a login that failed this way set no cookie, and a logout that failed
// should be retried. Sentinel and the Cluster promote the replica with the most data
// they can reach, so a write N replicas acknowledged is on the promoted replica when N
// is the number of replicas, and normally when N is fewer; WAIT does not make Redis
// strongly consistent, and a replica that acknowledged a write can still be passed
// over (if it is unreachable at the election, or has a lower replica-priority).
//
// The price: every write waits for a replica to apply it and answer, which is one more
// trip from the master to the replica and back; meanwhile it holds a connection of
// rueidis's pool for blocking commands (ClientOption.BlockingPoolSize); and the scripts
// travel whole (EVAL) instead of by hash. On loopback, bench/README.md measures it.
// And availability: with N equal to the number of replicas, every write fails while
// one replica is down, and after a failover, which leaves one replica fewer, until a
// new one has synced: with one replica and WaitReplicas 1, logins and logouts fail
// after a failover for as long as it takes the old master to come back and resync (15
// to 20 seconds when it is restarted at once, as measured for issue 20). Run two
// replicas with WaitReplicas 1 instead: a write survives the loss of its master, and
// after a failover Sentinel points the other replica at the new master, so writes
// resume within seconds. On a Cluster, give each master two replicas likewise.
//
// On a Cluster, a write whose keys live in two slots (a session and its owner's index)
// sends a WAIT for each slot, on a dedicated connection to its node, the slots in
// parallel; a slot that moved during the write (MOVED) fails the write instead of
// sending it elsewhere without a WAIT.
//
// Measured by this package's tests (TestSentinel, TestClusterFailover and
// TestFailoverLag: go test -race -run 'Sentinel|Cluster|FailoverLag' -v
// ./store/redisstore, a few runs on a shared 2-core machine), each on servers of its
// own on loopback, with a master declared down after 1 second and a StoreTimeout of 1
// second, six browsers incrementing a counter through a Manager while a master is
// killed (SIGKILL):
//
//   - Sentinel (a master, one replica, three Sentinels): the new master was seen 2.0 to
//     2.3 seconds after the kill, and every browser was served again 2.4 to 2.8 seconds
//     after it; the requests in between (12 to 16) were answered by the ErrorHandler,
//     the slowest after 1.0 second. A Cluster of three masters with a replica each:
//     promotion after 1.8 to 2.6 seconds, every browser served again after 2.1 to 3.3
//     seconds; a manual failover (CLUSTER FAILOVER) failed no request and served every
//     browser again within 0.2 seconds. With the replicas in sync, no acknowledged
//     write was lost: loopback replication outran the kill, which shows that the store
//     adds no loss, not that the default mode is durable.
//   - By default, with the replicas frozen (SIGSTOP) and the replication link filled
//     before the kill, so that they lag for real: every write the master acknowledged
//     after that was lost. On Sentinel, 20 to 42 increments (of every browser, 19 to
//     33 of them acknowledged while the replica was frozen), the logout made then was
//     undone and the login made then was lost. On the Cluster, the same for the
//     browsers whose session was on the killed master (7 to 68 increments, of 1 to 3
//     browsers of 6).
//   - With WaitReplicas 1 and the same lag: no write was acknowledged while the
//     replicas were frozen (each failed after half a second), none acknowledged
//     before the kill was lost, no logout was undone. With two replicas (Sentinel),
//     writes resumed 2.5 to 5.8 seconds after the kill; with one per master (Cluster),
//     writes to the failed master's slots kept failing, for want of a replica, while
//     reads were served.
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
