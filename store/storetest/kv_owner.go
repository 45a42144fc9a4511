package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

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
	a1r.Active, a1r.Expiry = kvMS(time.Now()), kvMS(time.Now().Add(5*time.Hour))
	if err := kv.Touch(t.Context(), a1, a1r.Active, a1r.Expiry); err != nil {
		t.Fatalf("Touch: err = %v; contract: %q", err, cTouch)
	}
	a2r := recs[a2]
	a2r.Version, a2r.Data = 2, []byte("a2 updated")
	if err := kv.Update(t.Context(), a2, 1, a2r); err != nil {
		t.Fatalf("Update at the stored version: err = %v; contract: %q", err, cUpdateCAS)
	}

	kvSleepPast(expiring.Expiry)
	kvWantOwned(t, kv, alice, map[string]store.Record{a1: a1r, a2: a2r},
		"(two live, one deleted, one expired, one touched, one updated)", cOwned+"; "+cMarkers)
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
	deleted, err := kv.DeleteOwned(t.Context(), "", "")
	if err != nil || len(deleted) != 0 {
		t.Errorf(`DeleteOwned("", "") = %d keys, %v, want none, nil; contract: %q`, len(deleted), err, cOwnerless)
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
	expired := kvCreateExpiring(t, kv, kvNewKey(), kvOwnedRecord(alice, "expired"), kvShortTTL)
	kvSleepPast(expired.Expiry)

	deleted, err := kv.DeleteOwned(t.Context(), alice, a2)
	if err != nil || !kvSameKeys(deleted, a1, a3) {
		t.Errorf("DeleteOwned(alice, except one of her 3 live records; one expired) = %x, %v, want the keys of the other 2 live ones, nil; contract: %q", deleted, err, cDeleteOwned)
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

	deleted, err = kv.DeleteOwned(t.Context(), alice, "")
	if err != nil || !kvSameKeys(deleted, a2) {
		t.Errorf(`DeleteOwned(alice, "") with one record left = %x, %v, want its key, nil; contract: %q`, deleted, err, cDeleteOwned)
	}
	kvWantMissing(t, kv, a2, `after DeleteOwned(alice, "")`, cDeleteOwned)
	kvWantOwned(t, kv, alice, nil, "after deleting all her records", cOwned)
	deleted, err = kv.DeleteOwned(t.Context(), alice, "")
	if err != nil || len(deleted) != 0 {
		t.Errorf("DeleteOwned of an owner without records = %x, %v, want none, nil; contract: %q", deleted, err, cDeleteOwned)
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

func kvMarkers(t *testing.T, kv store.OwnerKV) {
	alice := kvUniqueOwner("alice")
	renewed, destroyed, kept := kvNewKey(), kvNewKey(), kvNewKey()
	recs := map[string]store.Record{
		renewed:   kvOwnedRecord(alice, "renewed"),
		destroyed: kvOwnedRecord(alice, "destroyed"),
		kept:      kvOwnedRecord(alice, "kept"),
	}
	for key, rec := range recs {
		kvMustCreate(t, kv, key, rec)
	}
	// The Manager ends a session by updating it to a marker: no data, the owner kept.
	for key, why := range map[string]store.EndReason{renewed: store.Renewed, destroyed: store.Destroyed} {
		marker := store.Record{Expiry: kvMS(time.Now().Add(time.Minute)), Version: 2, Owner: alice, Ended: why}
		if err := kv.Update(t.Context(), key, 1, marker); err != nil {
			t.Fatalf("Update of a session to a marker: err = %v; contract: %q", err, cUpdateCAS)
		}
		kvWantRecord(t, kv, key, marker, "of a marker", cKeeps)
		late := recs[key]
		late.Version, late.Data = 2, []byte("late write")
		kvWantConflict(t, kv.Update(t.Context(), key, 1, late), "Update of a marker at the session's version", cUpdateNothing)
	}
	kvWantOwned(t, kv, alice, map[string]store.Record{kept: recs[kept]}, "with two of her sessions ended by markers", cMarkers)
	deleted, err := kv.DeleteOwned(t.Context(), alice, "")
	if err != nil || !kvSameKeys(deleted, kept) {
		t.Errorf("DeleteOwned(alice) with one session and two markers = %x, %v, want the session's key, nil; contract: %q", deleted, err, cMarkers)
	}
	kvWantOwned(t, kv, alice, nil, "after DeleteOwned", cOwned)
}
