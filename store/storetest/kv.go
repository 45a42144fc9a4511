package storetest

import (
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// The sentences of the KV and OwnerKV contracts (store.go, owner.go) that the checks quote.
const (
	cKeeps          = "A store keeps every field and gives it back unchanged"
	cNotFound       = "Not found is a value, never an error"
	cNeverOverwrite = "It never overwrites: if a live record exists at key, Create returns an error that wraps ErrConflict"
	cUpdateCAS      = "Update replaces the record at key with rec, only if a live record exists at key and its Version equals version"
	cUpdateNothing  = "Otherwise (changed, deleted or expired) it returns an error that wraps ErrConflict and changes nothing"
	cLateWrite      = "a late write never brings a deleted session back"
	cTouch          = "Touch sets the Active and Expiry of the live record at key, leaving every other field alone"
	cTouchMissing   = "Touching a missing or expired key does nothing and is not an error"
	cDelete         = "Delete removes the record at key"
	cDeleteMissing  = "Deleting a missing key is not an error"
	cExpiry         = "a record at or past its Expiry is not found, whatever the state of any background cleanup"
	cCtx            = "Every method honours ctx cancellation"
	cCtxNotFound    = "a system failure is never reported as not found"
	cConcurrent     = "A KV must be safe for concurrent use"

	cOwned         = "Owned returns the live sessions whose Owner is owner, by key"
	cOwnerless     = "Records without an Owner are never listed: Owned(\"\") finds nothing and DeleteOwned(\"\", ...) deletes nothing"
	cDeleteOwned   = "DeleteOwned deletes every session whose Owner is owner, except the one at key except (when except is not \"\"), and returns the keys of those it deleted"
	cOwnedLateSave = "one deleted is never brought back by a late Update"
	cMarkers       = "Owned and DeleteOwned see only live sessions: expired records and markers are never returned nor counted"
)

// The lifetimes of the records the expiry checks wait for. A check that must act on a
// record before it expires uses the longer one, and skips if the machine was too slow.
const (
	kvShortTTL = 100 * time.Millisecond
	kvLongTTL  = 300 * time.Millisecond
)

// RunKV checks the KV contract of [store.KV], and of [store.OwnerKV] when
// the KV implements it, as subtests of t. Each subtest runs in parallel and calls newKV
// for a KV of its own, which must share no records with the others.
func RunKV(t *testing.T, newKV func(t *testing.T) store.KV) {
	t.Helper()
	for _, tc := range kvTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newKV(t))
		})
	}
	for _, tc := range kvOwnerTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kv := newKV(t)
			okv, ok := kv.(store.OwnerKV)
			if !ok {
				t.Skipf("%T does not implement OwnerKV: its owner operations are not tested", kv)
			}
			tc.fn(t, okv)
		})
	}
}

var kvTests = []struct {
	name string
	fn   func(t *testing.T, kv store.KV)
}{
	{"CreateGet", kvCreateGet},
	{"GetMissing", kvGetMissing},
	{"CreateNeverOverwrites", kvCreateNeverOverwrites},
	{"UpdateVersion", kvUpdateVersion},
	{"UpdateSetsExpiry", kvUpdateSetsExpiry},
	{"UpdateMissing", kvUpdateMissing},
	{"UpdateDeleted", kvUpdateDeleted},
	{"UpdateExpired", kvUpdateExpired},
	{"Touch", kvTouch},
	{"TouchMissing", kvTouchMissing},
	{"TouchExpired", kvTouchExpired},
	{"Delete", kvDelete},
	{"ExpiryAtRead", kvExpiryAtRead},
	{"BinaryData", kvBinaryData},
	{"LargeData", kvLargeData},
	{"Keys", kvKeys},
	{"CancelledContext", kvCancelledContext},
	{"ConcurrentUpdates", kvConcurrentUpdates},
	{"ConcurrentCreate", kvConcurrentCreate},
}

var kvOwnerTests = []struct {
	name string
	fn   func(t *testing.T, kv store.OwnerKV)
}{
	{"Owned", kvOwned},
	{"OwnedEmptyOwner", kvOwnedEmptyOwner},
	{"DeleteOwned", kvDeleteOwned},
	{"Markers", kvMarkers},
	{"OwnerCancelledContext", kvOwnerCancelledContext},
}
