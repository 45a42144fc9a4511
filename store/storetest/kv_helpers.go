package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// kvNewKey returns a fresh key as a KVStore makes them: 32 random bytes (a SHA-256
// digest, in the KVStore).
func kvNewKey() string {
	var b [32]byte
	rand.Read(b[:])
	return string(b[:])
}

// kvMS returns t in whole milliseconds, without a monotonic reading, as the Manager makes
// the times of a Record.
func kvMS(t time.Time) time.Time {
	return time.UnixMilli(t.UnixMilli())
}

// kvRecord returns a live record with every field set.
func kvRecord(data string) store.Record {
	now := time.Now()
	return store.Record{
		Data:       []byte(data),
		Expiry:     kvMS(now.Add(time.Hour)),
		Created:    kvMS(now.Add(-time.Minute)),
		Active:     kvMS(now.Add(-time.Second)),
		Version:    1,
		Owner:      "",
		RememberMe: true,
	}
}

// kvUniqueOwner returns an owner name no other test uses.
func kvUniqueOwner(name string) string {
	return name + "-" + rand.Text()[:12]
}

// Diff describes how got differs from want, field by field, or returns "" when every
// field is the same (times compared with time.Time.Equal). For tests of stores.
func Diff(got, want store.Record) string {
	var d []string
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data = %s, want %s", kvShow(got.Data), kvShow(want.Data)))
	}
	if !got.Expiry.Equal(want.Expiry) {
		d = append(d, fmt.Sprintf("Expiry = %v, want %v", got.Expiry, want.Expiry))
	}
	if !got.Active.Equal(want.Active) {
		d = append(d, fmt.Sprintf("Active = %v, want %v", got.Active, want.Active))
	}
	if got.Ended != want.Ended {
		d = append(d, fmt.Sprintf("Ended = %v, want %v", got.Ended, want.Ended))
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
	if got.RememberMe != want.RememberMe {
		d = append(d, fmt.Sprintf("RememberMe = %v, want %v", got.RememberMe, want.RememberMe))
	}
	return strings.Join(d, "; ")
}

// kvShow abbreviates b for a failure message.
func kvShow(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// kvSameKeys reports whether got holds exactly the keys of want, in any order.
func kvSameKeys(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := make(map[string]bool, len(got))
	for _, k := range got {
		seen[k] = true
	}
	for _, k := range want {
		if !seen[k] {
			return false
		}
	}
	return len(seen) == len(want)
}

// kvMustCreate creates rec at key, which must succeed.
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
	if d := Diff(got, want); d != "" {
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
		if d := Diff(rec, w); d != "" {
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

// NewKey returns a fresh KV key, as a [store.KVStore] makes them: 32 bytes that no
// other call returns.
func NewKey() string { return kvNewKey() }
