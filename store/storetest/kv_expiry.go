package storetest

import (
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

func kvTouch(t *testing.T, kv store.KV) {
	// Touch changes Active and Expiry and nothing else.
	key := kvNewKey()
	rec := kvRecord("untouchable")
	rec.Owner = kvUniqueOwner("toucher")
	kvMustCreate(t, kv, key, rec)
	for i, d := range []time.Duration{3 * time.Hour, 2 * time.Hour} { // later, then earlier
		touched := rec
		touched.Active = kvMS(time.Now().Add(time.Duration(i) * time.Millisecond))
		touched.Expiry = kvMS(time.Now().Add(d))
		if err := kv.Touch(t.Context(), key, touched.Active, touched.Expiry); err != nil {
			t.Fatalf("Touch of a live record: err = %v; contract: %q", err, cTouch)
		}
		kvWantRecord(t, kv, key, touched, "after Touch", cTouch)
	}

	// A Touch can end a record too.
	if err := kv.Touch(t.Context(), key, kvMS(time.Now()), kvMS(time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("Touch of a live record to a past expiry: err = %v; contract: %q", err, cTouch)
	}
	kvWantMissing(t, kv, key, "after Touch to a past expiry", cExpiry)

	// The new expiry is the one enforced: the record outlives its old Expiry.
	key = kvNewKey()
	rec = kvCreateExpiring(t, kv, key, kvRecord("short-lived"), kvLongTTL)
	touched := rec
	touched.Active, touched.Expiry = kvMS(time.Now()), kvMS(time.Now().Add(time.Hour))
	if err := kv.Touch(t.Context(), key, touched.Active, touched.Expiry); err != nil {
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
	if err := kv.Touch(t.Context(), key, kvMS(time.Now()), kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of a key never created: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of a key never created", cTouchMissing)

	kvMustCreate(t, kv, key, kvRecord("deleted"))
	if err := kv.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: err = %v; contract: %q", err, cDelete)
	}
	if err := kv.Touch(t.Context(), key, kvMS(time.Now()), kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of a deleted record: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of a deleted record", cTouchMissing)
}

func kvTouchExpired(t *testing.T, kv store.KV) {
	key := kvNewKey()
	rec := kvCreateExpiring(t, kv, key, kvRecord("expiring"), kvShortTTL)
	kvSleepPast(rec.Expiry)
	if err := kv.Touch(t.Context(), key, kvMS(time.Now()), kvMS(time.Now().Add(time.Hour))); err != nil {
		t.Errorf("Touch of an expired record: err = %v; contract: %q", err, cTouchMissing)
	}
	kvWantMissing(t, kv, key, "after Touch of an expired record", cTouchMissing)
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
