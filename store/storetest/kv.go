package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/seed96b21533/typedsession"
)

// The sentences of the KV and OwnerKV contracts (store.go, owner.go) that the checks quote.
const (
	cKeeps          = "A store keeps every field and gives it back unchanged"
	cNotFound       = "Not found is a value, never an error"
	cNeverOverwrite = "It never overwrites: if a live record exists at key, Create returns an error that wraps ErrConflict"
	cUpdateCAS      = "Update replaces the record at key with rec, only if a live record exists at key and its Version equals version"
	cUpdateNothing  = "Otherwise (changed, deleted or expired) it returns an error that wraps ErrConflict and changes nothing"
	cLateWrite      = "a late write never brings a deleted session back"
	cTouch          = "Touch sets the Expiry of the live record at key, leaving every other field alone"
	cTouchMissing   = "Touching a missing or expired key does nothing and is not an error"
	cDelete         = "Delete removes the record at key"
	cDeleteMissing  = "Deleting a missing key is not an error"
	cExpiry         = "a record at or past its Expiry is not found, whatever the state of any background cleanup"
	cCtx            = "Every method honours ctx cancellation"
	cCtxNotFound    = "a system failure is never reported as not found"
	cConcurrent     = "A KV must be safe for concurrent use"

	cOwned         = "Owned returns the live records whose Owner is owner, by key"
	cOwnedExpired  = "Expired records are never returned"
	cOwnerless     = "a record without an Owner costs nothing extra (it is in no owner's index: Owned(\"\") lists nothing and DeleteOwned(\"\", ...) deletes nothing)"
	cDeleteOwned   = "DeleteOwned deletes every record whose Owner is owner, except the one at key except (when except is not \"\"), and returns how many it deleted"
	cOwnedLateSave = "one deleted is never brought back by a late Update"
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
	{"OwnerCancelledContext", kvOwnerCancelledContext},
}

// kvNewKey returns a fresh key as a KVStore makes them: 32 random bytes (a SHA-256
// digest, in the KVStore).
func kvNewKey() string {
	var b [32]byte
	rand.Read(b[:])
	return string(b[:])
}

// ms returns t in whole milliseconds, without a monotonic reading, as the Manager makes
// the times of a Record.
func kvMS(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli())
}

// record returns a live record with every field set.
func kvRecord(data string) store.Record {
	now := time.Now()
	return store.Record{
		Data:    []byte(data),
		Expiry:  kvMS(now.Add(time.Hour)),
		Created: kvMS(now.Add(-time.Minute)),
		Version: 1,
		Owner:   "",
		Persist: true,
	}
}

// kvUniqueOwner returns an owner name no other test uses.
func kvUniqueOwner(name string) string {
	return name + "-" + rand.Text()[:12]
}

// diff describes how got differs from want, field by field, or returns "".
func kvDiff(got, want store.Record) string {
	var d []string
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data = %s, want %s", kvShow(got.Data), kvShow(want.Data)))
	}
	if !got.Expiry.Equal(want.Expiry) {
		d = append(d, fmt.Sprintf("Expiry = %v, want %v", got.Expiry, want.Expiry))
	}
	if !got.Created.Equal(want.Created) {
		d = append(d, fmt.Sprintf("Created = %v, want %v", got.Created, want.Created))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version = %d, want %d", got.Version, want.Version))
	}
	if got.Owner != want.Owner {
		d = append(d, fmt.Sprintf("Owner = %q, want %q", got.Owner, want.Owner))
	}
	if got.Persist != want.Persist {
		d = append(d, fmt.Sprintf("Persist = %v, want %v", got.Persist, want.Persist))
	}
	return strings.Join(d, "; ")
}

// show abbreviates b for a failure message.
func kvShow(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func kvMustCreate(t *testing.T, kv store.KV, key string, rec store.Record) {
	t.Helper()
	if err := kv.Create(t.Context(), key, rec); err != nil {
		t.Fatalf("Create of a new key: err = %v; contract: %q", err, cNeverOverwrite)
	}
}

// kvMustGet returns the record at key, which must be found.
func kvMustGet(t *testing.T, kv store.KV, key, contract string) store.Record {
	t.Helper()
	rec, found, err := kv.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get: err = %v; contract: %q", err, cNotFound)
	}
	if !found {
		t.Fatalf("Get of a live record: found = false; contract: %q", contract)
	}
	return rec
}

// kvWantMissing checks that key is not found, and without an error.
func kvWantMissing(t *testing.T, kv store.KV, key, what, contract string) {
	t.Helper()
	rec, found, err := kv.Get(t.Context(), key)
	if err != nil {
		t.Errorf("Get %s: err = %v; contract: %q", what, err, cNotFound)
		return
	}
	if found {
		t.Errorf("Get %s: found = true, record %+v; contract: %q", what, rec, contract)
	}
}

// kvWantRecord checks that the record at key is want.
func kvWantRecord(t *testing.T, kv store.KV, key string, want store.Record, what, contract string) {
	t.Helper()
	got := kvMustGet(t, kv, key, contract)
	if d := kvDiff(got, want); d != "" {
		t.Errorf("Get %s: %s; contract: %q", what, d, contract)
	}
}

// kvWantConflict checks that err wraps ErrConflict.
func kvWantConflict(t *testing.T, err error, what, contract string) {
	t.Helper()
	if !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("%s: err = %v, want an error wrapping ErrConflict; contract: %q", what, err, contract)
	}
}

// kvSleepPast sleeps until a little after expiry.
func kvSleepPast(expiry time.Time) {
	time.Sleep(time.Until(expiry) + 20*time.Millisecond)
}

// kvCreateExpiring creates rec at key with an Expiry ttl from now, and returns it.
func kvCreateExpiring(t *testing.T, kv store.KV, key string, rec store.Record, ttl time.Duration) store.Record {
	t.Helper()
	rec.Expiry = kvMS(time.Now().Add(ttl))
	kvMustCreate(t, kv, key, rec)
	return rec
}

func kvCreateGet(t *testing.T, kv store.KV) {
	tests := []struct {
		name string
		rec  store.Record
	}{
		{"all fields", store.Record{
			Data:    []byte(`{"Name":"Ada Lovelace","Counter":7}`),
			Expiry:  kvMS(time.Now().Add(90 * time.Minute)),
			Created: kvMS(time.Now().Add(-3 * time.Minute)),
			Version: 1<<63 + 12345,
			Owner:   "user:4242",
			Persist: true,
		}},
		{"zero values", store.Record{
			Expiry:  kvMS(time.Now().Add(time.Hour)),
			Created: kvMS(time.Now()),
		}},
		{"odd milliseconds", store.Record{
			Data:    []byte("x"),
			Expiry:  kvMS(time.Now().Add(time.Hour)).Add(999 * time.Millisecond),
			Created: kvMS(time.Now()).Add(1 * time.Millisecond),
			Version: 3,
			Owner:   "ünïcødé owner <@> \"quoted\"",
		}},
	}
	for _, tc := range tests {
		key := kvNewKey()
		in := tc.rec
		in.Data = bytes.Clone(tc.rec.Data)
		kvMustCreate(t, kv, key, in)
		// The caller may reuse its buffer once Create has returned.
		for i := range in.Data {
			in.Data[i] = '#'
		}
		got := kvMustGet(t, kv, key, cKeeps)
		if d := kvDiff(got, tc.rec); d != "" {
			t.Errorf("%s: Get after Create: %s; contract: %q", tc.name, d, cKeeps)
		}
		// Nor may the caller's changes to what Get returned reach the store.
		for i := range got.Data {
			got.Data[i] = '%'
		}
		kvWantRecord(t, kv, key, tc.rec, tc.name+" after the caller changed the Data of a Get", cKeeps)
	}
}

func kvGetMissing(t *testing.T, kv store.KV) {
	kvWantMissing(t, kv, kvNewKey(), "of a key never created", cNotFound)
}

func kvCreateNeverOverwrites(t *testing.T, kv store.KV) {
	key := kvNewKey()
	orig := kvRecord("original")
	kvMustCreate(t, kv, key, orig)
	other := kvRecord("usurper")
	other.Version = 9
	other.Owner = "someone-else"
	err := kv.Create(t.Context(), key, other)
	kvWantConflict(t, err, "Create over a live record", cNeverOverwrite)
	kvWantRecord(t, kv, key, orig, "after a Create over a live record", cNeverOverwrite)
}

func kvUpdateVersion(t *testing.T, kv store.KV) {
	key := kvNewKey()
	v1 := kvRecord("one")
	kvMustCreate(t, kv, key, v1)

	v2 := store.Record{
		Data:    []byte("two"),
		Expiry:  kvMS(time.Now().Add(2 * time.Hour)),
		Created: v1.Created,
		Version: 2,
		Owner:   v1.Owner,
		Persist: false,
	}
	if err := kv.Update(t.Context(), key, 1, v2); err != nil {
		t.Fatalf("Update at the stored version: err = %v; contract: %q", err, cUpdateCAS)
	}
	kvWantRecord(t, kv, key, v2, "after an Update at the stored version", cUpdateCAS)

	for _, version := range []uint64{1, 0, 3, 1 << 63} {
		v3 := kvRecord("stale write")
		v3.Version = version + 1
		err := kv.Update(t.Context(), key, version, v3)
		kvWantConflict(t, err, fmt.Sprintf("Update at version %d of a record at version 2", version), cUpdateNothing)
		kvWantRecord(t, kv, key, v2, fmt.Sprintf("after an Update at the wrong version %d", version), cUpdateNothing)
	}
}

func kvUpdateSetsExpiry(t *testing.T, kv store.KV) {
	key := kvNewKey()
	rec := kvCreateExpiring(t, kv, key, kvRecord("short"), kvLongTTL)
	later := rec
	later.Data = []byte("long")
	later.Version = 2
	later.Expiry = kvMS(time.Now().Add(time.Hour))
	if err := kv.Update(t.Context(), key, 1, later); err != nil {
		if !time.Now().Before(rec.Expiry) {
			t.Skipf("the machine was too slow: the record expired before it could be updated (err = %v)", err)
		}
		t.Fatalf("Update at the stored version: err = %v; contract: %q", err, cUpdateCAS)
	}
	kvSleepPast(rec.Expiry)
	kvWantRecord(t, kv, key, later, "past the Expiry an Update replaced", cUpdateCAS)
}

func kvUpdateMissing(t *testing.T, kv store.KV) {
	key := kvNewKey()
	for _, version := range []uint64{0, 1} {
		rec := kvRecord("phantom")
		rec.Version = version + 1
		err := kv.Update(t.Context(), key, version, rec)
		kvWantConflict(t, err, fmt.Sprintf("Update at version %d of a key never created", version), cUpdateNothing)
		kvWantMissing(t, kv, key, "after an Update of a key never created", cUpdateNothing)
	}
}

func kvUpdateDeleted(t *testing.T, kv store.KV) {
	key := kvNewKey()
	kvMustCreate(t, kv, key, kvRecord("doomed"))
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: err = %v; contract: %q", err, cDelete)
	}
	rec := kvRecord("late write")
	rec.Version = 2
	err := kv.Update(t.Context(), key, 1, rec)
	kvWantConflict(t, err, "Update of a deleted record", cUpdateNothing)
	kvWantMissing(t, kv, key, "after a late Update of a deleted record", cLateWrite)
}

func kvUpdateExpired(t *testing.T, kv store.KV) {
	key := kvNewKey()
	rec := kvCreateExpiring(t, kv, key, kvRecord("expiring"), kvShortTTL)
	kvSleepPast(rec.Expiry)
	kvWantMissing(t, kv, key, "past its Expiry", cExpiry)

	late := kvRecord("late write")
	late.Version = 2
	err := kv.Update(t.Context(), key, 1, late)
	kvWantConflict(t, err, "Update of an expired record", cUpdateNothing)
	kvWantMissing(t, kv, key, "after a late Update of an expired record", cLateWrite)
}

func kvTouch(t *testing.T, kv store.KV) {
	// Touch changes the Expiry and nothing else.
	key := kvNewKey()
	rec := kvRecord("untouchable")
	rec.Owner = kvUniqueOwner("toucher")
	kvMustCreate(t, kv, key, rec)
	for _, d := range []time.Duration{3 * time.Hour, 2 * time.Hour} { // later, then earlier
		touched := rec
		touched.Expiry = kvMS(time.Now().Add(d))
		if err := kv.Touch(t.Context(), key, touched.Expiry); err != nil {
			t.Fatalf("Touch of a live record: err = %v; contract: %q", err, cTouch)
		}
		kvWantRecord(t, kv, key, touched, "after Touch", cTouch)
	}

	// A Touch can end a record too.
	if err := kv.Touch(t.Context(), key, kvMS(time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("Touch of a live record to a past expiry: err = %v; contract: %q", err, cTouch)
	}
	kvWantMissing(t, kv, key, "after Touch to a past expiry", cExpiry)

	// The new expiry is the one enforced: the record outlives its old Expiry.
	key = kvNewKey()
	rec = kvCreateExpiring(t, kv, key, kvRecord("short-lived"), kvLongTTL)
	touched := rec
	touched.Expiry = kvMS(time.Now().Add(time.Hour))
	if err := kv.Touch(t.Context(), key, touched.Expiry); err != nil {
		t.Fatalf("Touch of a live record: err = %v; contract: %q", err, cTouch)
	}
	if !time.Now().Before(rec.Expiry) {
		t.Skip("the machine was too slow: the record may have expired before it was touched")
	}
	kvSleepPast(rec.Expiry)
	kvWantRecord(t, kv, key, touched, "after Touch, past the Expiry before Touch", cTouch)
}

func kvTouchMissing(t *testing.T, kv store.KV) {
	key := kvNewKey()
	if err := kv.Touch(t.Context(), key, kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of a key never created: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of a key never created", cTouchMissing)

	kvMustCreate(t, kv, key, kvRecord("deleted"))
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: err = %v; contract: %q", err, cDelete)
	}
	if err := kv.Touch(t.Context(), key, kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of a deleted record: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of a deleted record", cTouchMissing)
}

func kvTouchExpired(t *testing.T, kv store.KV) {
	key := kvNewKey()
	rec := kvCreateExpiring(t, kv, key, kvRecord("expiring"), kvShortTTL)
	kvSleepPast(rec.Expiry)
	if err := kv.Touch(t.Context(), key, kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of an expired record: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of an expired record", cTouchMissing)
}

func kvDelete(t *testing.T, kv store.KV) {
	key, other := kvNewKey(), kvNewKey()
	kvMustCreate(t, kv, key, kvRecord("gone soon"))
	keep := kvRecord("stays")
	kvMustCreate(t, kv, other, keep)
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete of a live record: err = %v; contract: %q", err, cDelete)
	}
	kvWantMissing(t, kv, key, "after Delete", cDelete)
	kvWantRecord(t, kv, other, keep, "of another key after Delete", cDelete)
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Errorf("Delete of a deleted record: err = %v; contract: %q", err, cDeleteMissing)
	}
	if err := kv.Delete(t.Context(), kvNewKey()); err != nil {
		t.Errorf("Delete of a key never created: err = %v; contract: %q", err, cDeleteMissing)
	}
}

func kvExpiryAtRead(t *testing.T, kv store.KV) {
	key := kvNewKey()
	rec := kvCreateExpiring(t, kv, key, kvRecord("ephemeral"), kvShortTTL)
	deadline := rec.Expiry.Add(5 * time.Second)
	for {
		before := time.Now()
		got, found, err := kv.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("Get: err = %v; contract: %q", err, cNotFound)
		}
		if !found {
			break
		}
		if !before.Before(rec.Expiry) {
			t.Fatalf("Get at %v returned a record whose Expiry is %v; contract: %q",
				before.Format(time.StampMilli), got.Expiry.Format(time.StampMilli), cExpiry)
		}
		if before.After(deadline) {
			t.Fatalf("Get still finds the record well past its Expiry; contract: %q", cExpiry)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func kvBinaryData(t *testing.T, kv store.KV) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"all byte values", all},
		{"all byte values reversed", func() []byte {
			b := bytes.Clone(all)
			for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
				b[i], b[j] = b[j], b[i]
			}
			return b
		}()},
		{"NUL bytes", []byte("\x00\x00a\x00b\x00")},
		{"only NUL", []byte{0}},
		{"invalid UTF-8", []byte("\xff\xfe\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc")},
		{"empty", []byte{}},
		{"nil", nil},
		{"trailing spaces and newlines", []byte("data \r\n\t ")},
		{"percent and quotes", []byte(`%s%d'"\\`)},
	}
	for _, tc := range tests {
		key := kvNewKey()
		rec := kvRecord("")
		rec.Data = tc.data
		kvMustCreate(t, kv, key, rec)
		kvWantRecord(t, kv, key, rec, tc.name+" after Create", cKeeps)

		up := rec
		up.Version = 2
		up.Data = append(bytes.Clone(tc.data), 0, 0xff)
		if err := kv.Update(t.Context(), key, 1, up); err != nil {
			t.Fatalf("%s: Update at the stored version: err = %v; contract: %q", tc.name, err, cUpdateCAS)
		}
		kvWantRecord(t, kv, key, up, tc.name+" after Update", cKeeps)
	}
}

func kvLargeData(t *testing.T, kv store.KV) {
	big := make([]byte, 1<<20)
	rand.Read(big)
	key := kvNewKey()
	rec := kvRecord("")
	rec.Data = big
	kvMustCreate(t, kv, key, rec)
	kvWantRecord(t, kv, key, rec, "of a 1 MiB record", cKeeps)

	up := rec
	up.Version = 2
	up.Data = bytes.Repeat([]byte{0, 0xff, 'x'}, 1<<20/3)
	if err := kv.Update(t.Context(), key, 1, up); err != nil {
		t.Fatalf("Update of a 1 MiB record: err = %v; contract: %q", err, cUpdateCAS)
	}
	kvWantRecord(t, kv, key, up, "of a 1 MiB record after Update", cKeeps)
}

func kvKeys(t *testing.T, kv store.KV) {
	// Keys are 32 bytes, as a KVStore makes them, but of any content.
	key32 := func(s string) string { return (s + strings.Repeat("\x00", 32))[:32] }
	keys := []string{
		kvNewKey(),
		key32(""),
		key32(strings.Repeat("\x00", 31) + "\x01"),
		key32(strings.Repeat("\xff", 32)),
		key32(strings.Repeat("\xff", 31) + "\xfe"),
		key32("\xc3\x28" + strings.Repeat("\xa0", 29)),
		key32(strings.Repeat("*", 32)), // a glob pattern in Redis
		key32(strings.Repeat("%", 32)), // a LIKE pattern in SQL
		key32("'; DROP TABLE sessions; --\n"),
		key32("{hash tag}"),
	}
	want := make(map[string]store.Record)
	for i, key := range keys {
		if _, dup := want[key]; dup {
			t.Fatalf("test bug: key %d repeated", i)
		}
		rec := kvRecord("record " + strconv.Itoa(i))
		rec.Version = uint64(i + 1)
		kvMustCreate(t, kv, key, rec)
		want[key] = rec
	}
	for _, key := range keys {
		kvWantRecord(t, kv, key, want[key], fmt.Sprintf("of key %q", key), cKeeps)
	}
	// Deleting one key leaves its neighbours alone.
	if err := kv.Delete(t.Context(), keys[1]); err != nil {
		t.Fatalf("Delete: err = %v; contract: %q", err, cDelete)
	}
	kvWantMissing(t, kv, keys[1], "after Delete", cDelete)
	for i, key := range keys {
		if i != 1 {
			kvWantRecord(t, kv, key, want[key], fmt.Sprintf("of key %q after deleting another", key), cDelete)
		}
	}
}

func kvCancelledContext(t *testing.T, kv store.KV) {
	key := kvNewKey()
	kvMustCreate(t, kv, key, kvRecord("live"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	ops := []struct {
		name string
		op   func() error
	}{
		{"Get of a live record", func() error {
			_, _, err := kv.Get(ctx, key)
			return err
		}},
		{"Get of a missing key", func() error {
			_, found, err := kv.Get(ctx, kvNewKey())
			if err == nil && !found {
				t.Errorf("Get of a missing key with a cancelled context: found = false, err = nil; contract: %q",
					cCtxNotFound)
			}
			return err
		}},
		{"Create", func() error { return kv.Create(ctx, kvNewKey(), kvRecord("new")) }},
		{"Update", func() error {
			rec := kvRecord("updated")
			rec.Version = 2
			return kv.Update(ctx, key, 1, rec)
		}},
		{"Touch", func() error { return kv.Touch(ctx, key, kvMS(time.Now().Add(2*time.Hour))) }},
		{"Delete", func() error { return kv.Delete(ctx, key) }},
	}
	for _, o := range ops {
		kvWantCancelled(t, o.name, o.op())
	}
}

// kvWantCancelled checks that err reports the cancellation of the context.
func kvWantCancelled(t *testing.T, op string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s with a cancelled context: err = nil; contract: %q", op, cCtx)
	case errors.Is(err, typedsession.ErrConflict):
		t.Errorf("%s with a cancelled context: err = %v, which claims a conflict; contract: %q", op, err, cCtx)
	case !errors.Is(err, context.Canceled):
		t.Logf("%s with a cancelled context: err = %v does not wrap context.Canceled (allowed, but less useful)", op, err)
	}
}

func kvConcurrentUpdates(t *testing.T, kv store.KV) {
	const (
		workers = 8
		each    = 25
		// maxTries bounds the attempts of one increment, so that a store that always
		// conflicts fails the test instead of hanging it.
		maxTries = 100 * workers
	)
	key := kvNewKey()
	start := kvRecord("0")
	kvMustCreate(t, kv, key, start)

	var (
		wg        sync.WaitGroup
		successes atomic.Int64
		conflicts atomic.Int64
		gate      = make(chan struct{})
	)
	ctx := t.Context()
	for range workers {
		wg.Go(func() {
			<-gate
			for range each {
				done := false
				for try := 0; try < maxTries && !done; try++ {
					rec, found, err := kv.Get(ctx, key)
					if err != nil || !found {
						t.Errorf("Get during concurrent updates: found = %v, err = %v; contract: %q", found, err, cConcurrent)
						return
					}
					n, err := strconv.Atoi(string(rec.Data))
					if err != nil {
						t.Errorf("Get during concurrent updates: Data = %q, not a counter; contract: %q", rec.Data, cKeeps)
						return
					}
					version := rec.Version
					// Give the others a chance to read the same version, as a request
					// would while it works on what it read.
					runtime.Gosched()
					rec.Data = []byte(strconv.Itoa(n + 1))
					rec.Version++
					err = kv.Update(ctx, key, version, rec)
					switch {
					case err == nil:
						successes.Add(1)
						done = true
					case errors.Is(err, typedsession.ErrConflict):
						conflicts.Add(1)
					default:
						t.Errorf("Update during concurrent updates: err = %v; contract: %q", err, cConcurrent)
						return
					}
				}
				if !done {
					t.Errorf("an increment conflicted %d times in a row; contract: %q", maxTries, cUpdateCAS)
					return
				}
			}
		})
	}
	close(gate)
	wg.Wait()

	got := kvMustGet(t, kv, key, cConcurrent)
	n := successes.Load()
	if string(got.Data) != strconv.FormatInt(n, 10) || got.Version != uint64(n)+start.Version {
		t.Errorf("after %d successful compare-and-swap increments (and %d conflicts): Data = %q, Version = %d, want %d and %d: updates were lost; contract: %q",
			n, conflicts.Load(), got.Data, got.Version, n, uint64(n)+start.Version, cUpdateCAS)
	}
}

func kvConcurrentCreate(t *testing.T, kv store.KV) {
	const workers = 16
	key := kvNewKey()
	var (
		wg     sync.WaitGroup
		winner atomic.Int64
		wins   atomic.Int64
		gate   = make(chan struct{})
	)
	ctx := t.Context()
	for i := range workers {
		wg.Go(func() {
			<-gate
			err := kv.Create(ctx, key, kvRecord("creator "+strconv.Itoa(i)))
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(int64(i))
			case errors.Is(err, typedsession.ErrConflict):
			default:
				t.Errorf("concurrent Create: err = %v; contract: %q", err, cConcurrent)
			}
		})
	}
	close(gate)
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent Creates of one key succeeded, want exactly 1; contract: %q", n, cNeverOverwrite)
	}
	got := kvMustGet(t, kv, key, cNeverOverwrite)
	if want := "creator " + strconv.FormatInt(winner.Load(), 10); string(got.Data) != want {
		t.Errorf("after concurrent Creates: Data = %q, want the winner's %q; contract: %q", got.Data, want, cNeverOverwrite)
	}
}

// kvWantOwned checks that Owned(owner) lists exactly the records of want, by key, with
// their stored metadata (the Data of a listed record may be nil).
func kvWantOwned(t *testing.T, kv store.OwnerKV, owner string, want map[string]store.Record, what, contract string) {
	t.Helper()
	got, err := kv.Owned(t.Context(), owner)
	if err != nil {
		t.Errorf("Owned(%q) %s: err = %v; contract: %q", owner, what, err, contract)
		return
	}
	for key, rec := range got {
		w, ok := want[key]
		if !ok {
			t.Errorf("Owned(%q) %s lists key %x (Owner %q, Expiry %v), which it should not; contract: %q",
				owner, what, key, rec.Owner, rec.Expiry, contract)
			continue
		}
		if rec.Data == nil {
			rec.Data = w.Data
		}
		if d := kvDiff(rec, w); d != "" {
			t.Errorf("Owned(%q) %s, key %x: %s; contract: %q", owner, what, key, d, contract)
		}
	}
	for key := range want {
		if _, ok := got[key]; !ok {
			t.Errorf("Owned(%q) %s misses key %x; contract: %q", owner, what, key, contract)
		}
	}
}

func kvOwnedRecord(owner, data string) store.Record {
	rec := kvRecord(data)
	rec.Owner = owner
	return rec
}

func kvOwned(t *testing.T, kv store.OwnerKV) {
	alice, bob := kvUniqueOwner("alice"), kvUniqueOwner("bob")
	a1, a2, b1, n1, aDeleted, aExpired := kvNewKey(), kvNewKey(), kvNewKey(), kvNewKey(), kvNewKey(), kvNewKey()

	recs := map[string]store.Record{
		a1:       kvOwnedRecord(alice, "a1"),
		a2:       kvOwnedRecord(alice, "a2"),
		b1:       kvOwnedRecord(bob, "b1"),
		n1:       kvOwnedRecord("", "n1"),
		aDeleted: kvOwnedRecord(alice, "deleted"),
	}
	for key, rec := range recs {
		kvMustCreate(t, kv, key, rec)
	}
	expiring := kvCreateExpiring(t, kv, aExpired, kvOwnedRecord(alice, "expired"), kvShortTTL)
	if err := kv.Delete(t.Context(), aDeleted); err != nil {
		t.Fatalf("Delete: err = %v; contract: %q", err, cDelete)
	}

	// Touch and Update keep a record in its owner's index, with its new metadata.
	a1r := recs[a1]
	a1r.Expiry = kvMS(time.Now().Add(5 * time.Hour))
	if err := kv.Touch(t.Context(), a1, a1r.Expiry); err != nil {
		t.Fatalf("Touch: err = %v; contract: %q", err, cTouch)
	}
	a2r := recs[a2]
	a2r.Version, a2r.Data = 2, []byte("a2 updated")
	if err := kv.Update(t.Context(), a2, 1, a2r); err != nil {
		t.Fatalf("Update at the stored version: err = %v; contract: %q", err, cUpdateCAS)
	}

	kvSleepPast(expiring.Expiry)
	kvWantOwned(t, kv, alice, map[string]store.Record{a1: a1r, a2: a2r},
		"(two live, one deleted, one expired, one touched, one updated)", cOwned+"; "+cOwnedExpired)
	kvWantOwned(t, kv, bob, map[string]store.Record{b1: recs[b1]}, "", cOwned)
	kvWantOwned(t, kv, kvUniqueOwner("nobody"), nil, "of an owner without records", cOwned)
}

func kvOwnedEmptyOwner(t *testing.T, kv store.OwnerKV) {
	n1, n2, a1 := kvNewKey(), kvNewKey(), kvNewKey()
	kvMustCreate(t, kv, n1, kvOwnedRecord("", "n1"))
	kvMustCreate(t, kv, n2, kvOwnedRecord("", "n2"))
	alice := kvOwnedRecord(kvUniqueOwner("alice"), "a1")
	kvMustCreate(t, kv, a1, alice)

	kvWantOwned(t, kv, "", nil, "", cOwnerless)
	n, err := kv.DeleteOwned(t.Context(), "", "")
	if err != nil || n != 0 {
		t.Errorf(`DeleteOwned("", "") = %d, %v, want 0, nil; contract: %q`, n, err, cOwnerless)
	}
	kvMustGet(t, kv, n1, cOwnerless)
	kvMustGet(t, kv, n2, cOwnerless)
	kvWantOwned(t, kv, alice.Owner, map[string]store.Record{a1: alice}, "", cOwned)
}

func kvDeleteOwned(t *testing.T, kv store.OwnerKV) {
	alice, bob := kvUniqueOwner("alice"), kvUniqueOwner("bob")
	a1, a2, a3, b1, n1 := kvNewKey(), kvNewKey(), kvNewKey(), kvNewKey(), kvNewKey()
	recs := map[string]store.Record{
		a1: kvOwnedRecord(alice, "a1"),
		a2: kvOwnedRecord(alice, "a2"),
		a3: kvOwnedRecord(alice, "a3"),
		b1: kvOwnedRecord(bob, "b1"),
		n1: kvOwnedRecord("", "n1"),
	}
	for key, rec := range recs {
		kvMustCreate(t, kv, key, rec)
	}

	n, err := kv.DeleteOwned(t.Context(), alice, a2)
	if err != nil || n != 2 {
		t.Errorf("DeleteOwned(alice, except one of her 3 records) = %d, %v, want 2, nil; contract: %q", n, err, cDeleteOwned)
	}
	kvWantMissing(t, kv, a1, "of a record DeleteOwned deleted", cDeleteOwned)
	kvWantMissing(t, kv, a3, "of a record DeleteOwned deleted", cDeleteOwned)
	kvWantRecord(t, kv, a2, recs[a2], "of the record DeleteOwned was told to keep", cDeleteOwned)
	kvWantRecord(t, kv, b1, recs[b1], "of another owner's record after DeleteOwned", cDeleteOwned)
	kvWantRecord(t, kv, n1, recs[n1], "of an ownerless record after DeleteOwned", cDeleteOwned)
	kvWantOwned(t, kv, alice, map[string]store.Record{a2: recs[a2]}, "after DeleteOwned", cOwned)

	late := recs[a1]
	late.Version, late.Data = 2, []byte("late write")
	err = kv.Update(t.Context(), a1, 1, late)
	kvWantConflict(t, err, "Update of a record DeleteOwned deleted", cUpdateNothing)
	kvWantMissing(t, kv, a1, "after a late Update of a record DeleteOwned deleted", cOwnedLateSave)

	n, err = kv.DeleteOwned(t.Context(), alice, "")
	if err != nil || n != 1 {
		t.Errorf(`DeleteOwned(alice, "") with one record left = %d, %v, want 1, nil; contract: %q`, n, err, cDeleteOwned)
	}
	kvWantMissing(t, kv, a2, `after DeleteOwned(alice, "")`, cDeleteOwned)
	kvWantOwned(t, kv, alice, nil, "after deleting all her records", cOwned)
	n, err = kv.DeleteOwned(t.Context(), alice, "")
	if err != nil || n != 0 {
		t.Errorf("DeleteOwned of an owner without records = %d, %v, want 0, nil; contract: %q", n, err, cDeleteOwned)
	}
	kvWantRecord(t, kv, b1, recs[b1], "of another owner's record at the end", cDeleteOwned)
}

func kvOwnerCancelledContext(t *testing.T, kv store.OwnerKV) {
	owner := kvUniqueOwner("alice")
	key := kvNewKey()
	kvMustCreate(t, kv, key, kvOwnedRecord(owner, "a1"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := kv.Owned(ctx, owner)
	kvWantCancelled(t, "Owned", err)
	_, err = kv.DeleteOwned(ctx, owner, "")
	kvWantCancelled(t, "DeleteOwned", err)
}

// NewKey returns a fresh KV key, as a [store.KVStore] makes them: 32 bytes that no
// other call returns.
func NewKey() string { return kvNewKey() }
