// Package storetest is the conformance suite of typedsession stores.
//
// Every store of this module runs it against its real backend, and a third-party store
// should too:
//
//	func TestKV(t *testing.T) {
//		storetest.RunKV(t, func(t *testing.T) store.KV {
//			return mystore.New(client, mystore.Options{Prefix: uniquePrefix(t)}).KV
//		})
//	}
//
// # The KV suite
//
// [RunKV] checks a [store.KV] against the contract written on that interface:
// records round-trip every field, Create never overwrites, Update is a compare-and-swap
// that never brings a deleted or expired record back, Touch changes the expiry and
// nothing else, Delete of a missing key is not an error, expiry is enforced when a
// record is read, data is binary-safe and may be large, a cancelled context is an error
// and never "not found", and concurrent compare-and-swap increments lose no update. When
// the KV also implements [store.OwnerKV], the suite checks Owned and DeleteOwned;
// otherwise it skips those subtests with a message that says the KV does not implement
// OwnerKV.
//
// Each subtest calls newKV for a fresh KV and runs in parallel with the others, so
// newKV must return a KV that shares no records with the KVs of other subtests: a new
// memstore, a unique Redis key prefix, a unique PostgreSQL table. Register cleanup with
// t.Cleanup inside newKV.
//
// A failure message quotes the sentence of the contract that the store broke.
//
// The suite needs a little real time: its expiry checks create records that expire about
// 100ms later and wait for them, so a store must compare expiries with a clock that
// agrees with the test's to within some tens of milliseconds.
//
// # The Manager suite
//
// [RunManager] drives a [store.Store] through a Manager and a real HTTP client.
//
// # Cleanup events
//
// A store that removes sessions on its own and implements [store.Notifier] checks with
// [RunCleanupEvents] that a Manager over it hears of each removed session once.
package storetest
