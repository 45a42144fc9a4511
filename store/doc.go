// Package store is for people who write a session store: the contracts a store meets,
// the [Record] it keeps, and [KVStore], which turns a small key-value [KV] into a full
// [Store] and owns the session tokens. Application code never needs this package: it
// creates a Manager with typedsession.New over one of the stores under store/ and
// uses the typed helpers.
//
// # Two ways to be a store
//
// A server-side store (store/memstore, store/redisstore, store/pgstore,
// store/mongostore) implements [KV]: five context-first methods on records keyed by
// the SHA-256 digest of a token, with compare-and-swap on the record's version. Its
// constructor returns a type that embeds a [KVStore] over that KV, which makes it a
// [Store]: the KVStore mints tokens (256 bits from crypto/rand, base64url), rejects
// malformed tokens without touching the KV, and hashes them, so that a KV never sees
// a token and a leaked keyspace or table yields no usable session. A KV that can also
// find records by their Owner implements [OwnerKV], and its KVStore is then an
// [OwnerStore] ("log out everywhere").
//
// A store that keeps the whole session in the token itself (store/cookiestore, a
// sealed cookie) implements [Store] directly.
//
// # Conformance
//
// The package store/storetest holds the suites every store passes against its real
// backend: storetest.RunKV for a KV, storetest.RunManager for a Store behind a Manager.
package store
