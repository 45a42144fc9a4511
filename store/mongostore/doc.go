// Package mongostore keeps typedsession sessions in a MongoDB collection, through the
// official driver, [go.mongodb.org/mongo-driver/v2].
//
//	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://db1,db2,db3/?replicaSet=rs0&w=majority"))
//	...
//	st, err := mongostore.New(client.Database("app").Collection("sessions"), mongostore.Options{})
//	...
//	setup, err := st.Setup(ctx) // indexes; what the server can do
//	if err != nil { ... }
//	if setup.NeedsCleanup() {   // no TTL index (FerretDB, some compatible services)
//		st.StartCleanup(time.Minute)
//	}
//	defer st.Close()
//	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
//
// [New] takes the collection; the client, its connection pool, its write concern and
// read preference belong to the caller, as a *pgxpool.Pool does to pgstore. New does
// no I/O and starts no goroutine.
//
// # Documents
//
// One document per session, keyed by the SHA-256 of its token (a leaked collection
// holds no usable token):
//
//	{
//	  _id:        BinData(0, "…32 bytes…"),  // the key: SHA-256 of the token
//	  data:       BinData(0, "…"),           // the session as the Manager's Codec encoded it
//	  expiry:     ISODate("…"),              // when the session (or marker) ends
//	  created:    ISODate("…"),              // when the session began
//	  active:     ISODate("…"),              // when it was last used; absent in old records
//	  version:    NumberLong(…),             // the Record's Version, a uint64 stored bit for bit
//	  owner:      "user:42",                 // absent when the session has no owner
//	  rememberMe: false,
//	  ended:      0                          // 1 renewed, 2 destroyed: a marker, without data
//	}
//
// data is BSON binary, whatever the codec; with the default JSON codec its bytes are
// the JSON text of the session. A marker (ended 1 or 2)
// is what the Manager leaves under a renewed or destroyed session's key for a minute,
// so that a late request bearing the old token is recognised; the owner index never
// lists it. Times are kept to the millisecond, as the Manager makes them; documents
// are at most 16 MiB, MongoDB's limit.
//
// # Operations
//
// Expiry is checked against the application's clock, the one the Manager uses: every
// command carries time.Now() (expiry: {$gt: now}), never the server's. An expired
// document is never returned nor updated, whatever the TTL monitor or the cleanup
// did. Keep the clocks of the application servers synchronised (NTP).
//
// With in-place writes ([WriteInPlace], the mode on MongoDB) each operation on one
// session is one command and one round trip, which MongoDB applies to its one
// document atomically:
//
//   - Get: findOne {_id, expiry > now}.
//   - Create: replaceOne {_id, expiry <= now} with upsert, which inserts where no
//     document is, replaces an expired one, and fails with a duplicate key (reported
//     as ErrConflict) where a live one is.
//   - Update: replaceOne {_id, version, expiry > now}; no document matched is
//     ErrConflict, with no second round trip to find out why.
//   - Touch: updateOne {_id, expiry > now} {$set: {active, expiry}}.
//   - Delete: deleteOne {_id}.
//   - Owned: find {owner, ended: 0, expiry > now}, without data, on the owner index.
//   - DeleteOwned: find of the _id with the same filter (and _id $ne the one kept),
//     then a deleteOne {_id, owner, ended: 0, expiry > now} of each, so that it
//     returns the keys it deleted: 1 + n round trips for n sessions. A session renewed
//     or ended in between is left alone. The owner's expired documents are left to the
//     TTL index or the cleanup.
//
// A cancelled context or a lost connection therefore never leaves a half-written
// session. A transport error or a timeout is an error, never "not found".
//
// # FerretDB: claimed writes
//
// FerretDB 1.x (the MongoDB server the tests of this package run against) answers
// these commands, but applies an update's filter and its write in two steps: two
// updates of one session that race can both match the version they expect, and a
// touch can write back a document an update has just replaced. Only inserts are
// atomic there, through the unique _id. So on FerretDB a Store uses claimed writes
// ([WriteClaimed]; [WriteAuto] chooses it when buildInfo reports a
// ferretdbVersion): an Update first inserts a claim, a small document whose _id is a
// string of the session's key, the version being changed and a generation, which only
// one writer can insert (the others get ErrConflict); the holder makes the same
// replaceOne as above and deletes its claim: three round trips.
// A Touch reads the version, claims it, updates and deletes the claim: four round
// trips, and it gives way (does nothing) when another write holds the claim. Create
// is an insertOne (and, only where an expired document is in the way, a deleteOne of
// it and another insertOne). Reads and deletes are as in place.
//
// A writer interrupted between its claim and its deletion (a crash, a lost connection,
// its deadline) leaves the claim behind. It holds until that writer's deadline (its
// context's, at most 10 s away) plus a 10 s margin for a command still on its way,
// during which updates of that session are ErrConflict and touches do nothing; after
// that, the next writer breaks it by inserting the next generation. [Store.DeleteExpired] deletes the
// claims of sessions that are gone. Claims live in the same collection; they have no
// expiry, owner or data field, so nothing else sees them. On any server whose
// conditional updates are not atomic, set Options.Writes to WriteClaimed.
//
// Deletes by a filter take no claim: FerretDB reads what matches, then deletes it by
// _id. So DeleteOwned can delete a session that a concurrent request has just ended
// (the marker goes too, and a late request bearing its token is then a new visitor
// rather than one whose session ended), and DeleteExpired, in claimed mode, deletes a
// session only a minute after its expiry, so that no touch that began before it can be
// under way.
//
// # Indexes and expired sessions
//
// [Store.Setup] creates two indexes, as the server supports them, and reports what it
// could not create. On MongoDB: a TTL index on expiry (expireAfterSeconds 0), so that
// the server deletes a session once it has expired (its TTL monitor runs once a
// minute, so a document may outlive its expiry by a minute or more, which reads do not
// see), and a partial index on owner (only documents that have an owner). FerretDB
// 1.x implements neither option (NotImplemented, code 238): Setup creates plain
// indexes instead, and [Setup.NeedsCleanup] is true. Then run [Store.StartCleanup],
// which calls [Store.DeleteExpired] in the background until [Store.Close]: it deletes
// in batches of Options.BatchSize (a find of their _id, then a deleteMany of those
// still expired, or a deleteOne of each while a Notify function is registered), so
// several instances may run it at once. In claimed mode it deletes
// a session only a minute after it expired, since there a delete is not atomic with
// a touch that began before the expiry.
//
// A Store is a [store.Notifier]: a Manager made with it and Options.OnEvent reports
// each session (not a marker) that this Store's DeleteExpired deletes as a
// SessionCleaned event. It reports none of the sessions a TTL index deletes: the
// server removes those without telling the Store.
//
// Setup is idempotent; call it at start-up (the demo, examples/demo, does). The store
// works without it, without the indexes.
//
// # Write concern and read preference
//
// They are the client's (or the collection's, if you give it options of its own),
// and this package sets neither. For a session store on a replica set:
//
//   - Write concern "majority" (MongoDB's default since 5.0 on most deployments; set
//     w=majority in the URI to be sure): a login, a logout or a renewal acknowledged
//     with w: 1 can be rolled back when the primary fails before the write reached a
//     secondary, and a logged-out session would then come back.
//   - Read preference primary (the driver's default): a read from a secondary may miss
//     a session just created (the user appears logged out) or return a version just
//     replaced, which makes the next Update a conflict.
//   - Retryable writes (the driver's default on replica sets) let the driver retry a
//     single-document write once after a failover, without applying it twice.
//
// FerretDB is a single server: none of this applies to it.
package mongostore
