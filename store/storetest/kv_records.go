package storetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

func kvCreateGet(t *testing.T, kv store.KV) {
	tests := []struct {
		name string
		rec  store.Record
	}{
		{"all fields", store.Record{
			Data:       []byte(`{"Name":"Ada Lovelace","Counter":7}`),
			Expiry:     kvMS(time.Now().Add(90 * time.Minute)),
			Created:    kvMS(time.Now().Add(-3 * time.Minute)),
			Version:    1<<63 + 12345,
			Owner:      "user:4242",
			RememberMe: true,
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
		if d := Diff(got, tc.rec); d != "" {
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
		Data:       []byte("two"),
		Expiry:     kvMS(time.Now().Add(2 * time.Hour)),
		Created:    v1.Created,
		Version:    2,
		Owner:      v1.Owner,
		RememberMe: false,
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
