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
// (100 000 by default); concurrent Creates on a full store may pass the bound briefly,
// by at most their number. When it is full, creating a session first evicts another.
// What it evicts is chosen so that a flood of sessions that never come back (a bot, a
// crawler, or an attacker, on an app that gives anonymous visitors a session for a
// cart) replaces itself instead of the sessions of real users:
//
//   - Expired records go first, but only those eviction comes across: the oldest in
//     probation, and those it reaches in the order below. A sweeper removes the
//     others (see Expiry).
//   - Then a session in probation: one without an owner that has not been found used
//     since it was created, oldest first. A session in probation that was used again
//     (read, touched or written by a later request) is promoted, not evicted, when
//     eviction reaches it; a session created by a renewal has come back already.
//   - Only when probation holds fewer than a tenth of MaxSessions does eviction take a
//     protected session: first one without an owner that came back (or a marker, left
//     for a minute by a Renew or a Destroy), and while none is left, an owned one (see
//     [typedsession.Manager.SetOwner]). Among them it takes the oldest that has no
//     use left: a record counts its uses up to three, and eviction, going round from
//     the oldest, passes over a used record and takes one use off (the clock of
//     S3-FIFO, an approximation of least recently used).
//
// Eviction looks in the shard of the new key first, then in the next ones, one lock at
// a time, so "oldest" is within a shard. It allocates nothing; a record carries two
// links, its key and a use count (about 50 bytes), and a read adds an atomic load,
// and a compare-and-swap while the count is below three.
//
// With owned sessions at a tenth of MaxSessions and as many anonymous sessions that
// came back, a flood of ten times MaxSessions new anonymous sessions leaves every one
// of them alive. What a flood still costs:
//
//   - A visitor whose first session is created during a flood loses it if he comes
//     back only after eviction has reached it in probation, about as many Creates later
//     as probation holds (MaxSessions less the protected sessions): his cart is gone,
//     he starts a new session.
//   - An attacker who comes back, reading each session he creates once more (two
//     requests per session instead of one), gets them promoted. They then push out the
//     anonymous sessions that came back and are not in use: such a session, once it has
//     no use left to take off, goes when eviction comes round to it, after about as many
//     of the attacker's sessions as there are protected sessions without an owner.
//     Sessions used at least once per round stay, and owned sessions are not evicted
//     while any protected session without an owner is left.
//   - An attacker with an account can log in again and again: every login creates an
//     owned session, protected from its first request. Rate-limit logins (as you should
//     anyway against password guessing).
//   - When protected sessions take more than nine tenths of MaxSessions, every
//     Create, a flood's included, evicts a protected one (one without an owner while
//     any is left) until probation is back to a tenth: a flood brings the protected
//     sessions down to nine tenths of MaxSessions, and logs users out when the owned
//     sessions alone were more. Size MaxSessions so that the protected sessions you
//     expect at once stay well under nine tenths of it, or use store/redisstore or
//     store/pgstore, whose room is that of a server you size apart from the process.
//
// An evicted user is logged out and his cart is gone: his next request bears a token
// the store no longer knows, which the Manager treats as no token at all, so he gets a
// new, empty session when that request stores one. Eviction leaves no marker: an
// evicted session is simply gone, and a request that bears its token is not told that
// it ended. Run a sweeper so that expired records do not take the room of live ones.
//
// # Expiry
//
// A record is not found from its Expiry on, whether or not it has been removed: expiry is
// enforced when a record is read. Expired records are removed when a Create that needs
// room comes across them, by [Store.DeleteExpired], or by a background sweeper started
// with [Store.StartCleanup] and stopped with [Store.Close]. [New] starts nothing;
// without a sweeper, expired records occupy memory until a full store needs their room.
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
