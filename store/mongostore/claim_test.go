package mongostore_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/mongostore"
)

// putClaim stores a claim of generation gen on key at version, as another writer
// would have, holding until until.
func putClaim(t *testing.T, coll *mongo.Collection, key string, version, gen uint64, until time.Time) {
	t.Helper()
	on := binary.BigEndian.AppendUint64([]byte(key), version)
	_, err := coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: bson.Binary{Data: binary.BigEndian.AppendUint64(append([]byte{}, on...), gen)}},
		{Key: "claim", Value: bson.Binary{Data: on}},
		{Key: "holder", Value: int64(42)},
		{Key: "until", Value: until},
	})
	if err != nil {
		t.Fatalf("storing a claim: %v", err)
	}
}

// TestClaims checks the claimed writes against claims other writers hold or left
// behind: a claim that holds makes Update a conflict and Touch give way, changing
// nothing; one past its time is broken by the next generation, and the newest
// generation decides; a finished write leaves no claim of its own.
func TestClaims(t *testing.T) {
	t.Parallel()
	type claimAt struct {
		gen  uint64
		live bool // holds for an hour more; else expired a second ago
	}
	for _, tc := range []struct {
		name   string
		claims []claimAt
		held   bool // the writes must give way
		left   int64
	}{
		{"none", nil, false, 0},
		{"held", []claimAt{{0, true}}, true, 1},
		{"left behind", []claimAt{{0, false}}, false, 1},
		{"left behind, broken, held", []claimAt{{0, false}, {1, true}}, true, 2},
		{"left behind twice", []claimAt{{0, false}, {1, false}}, false, 2},
		{"newest generation held", []claimAt{{0, false}, {1, false}, {2, true}}, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mongostore.WriteClaimed})
			kv, ctx := s.KV, t.Context()
			k := key()
			rec := record("before", 1, time.Hour)
			if err := kv.Create(ctx, k, rec); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.claims {
				until := time.Now().Add(-time.Second)
				if c.live {
					until = time.Now().Add(time.Hour)
				}
				putClaim(t, coll, k, 1, c.gen, until)
			}

			// Touch first: it keeps the version, so Update then meets the same claims.
			touched := rec
			touched.Active, touched.Expiry = rec.Active.Add(time.Second), rec.Expiry.Add(time.Hour)
			if err := kv.Touch(ctx, k, touched.Active, touched.Expiry); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			want := touched
			if tc.held {
				want = rec
			}
			if got, _, err := kv.Get(ctx, k); err != nil || !sameRecord(got, want) {
				t.Errorf("after Touch, Get = %+v, %v; want %+v (held: %v)", got, err, want, tc.held)
			}

			next := record("after", 2, time.Hour)
			err := kv.Update(ctx, k, 1, next)
			if tc.held {
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("Update with the claim held: err = %v, want ErrConflict", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				want = next
			}
			if got, _, err := kv.Get(ctx, k); err != nil || !sameRecord(got, want) {
				t.Errorf("after Update, Get = %+v, %v; want %+v", got, err, want)
			}
			if n := count(t, coll, claims); n != tc.left {
				t.Errorf("%d claims after the writes, want the %d of the other writers", n, tc.left)
			}
		})
	}
}

// TestClaimsSwept checks that DeleteExpired deletes the claims left behind for
// sessions that are gone, and keeps those of live sessions (the next claim on their
// version must follow them) and those that still hold.
func TestClaimsSwept(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{Writes: mongostore.WriteClaimed})
	kv, ctx := s.KV, t.Context()
	alive, deleted, expired := key(), key(), key()
	for _, k := range []string{alive, deleted} {
		if err := kv.Create(ctx, k, record("x", 1, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Expired longer ago than the grace: DeleteExpired deletes it too.
	if err := kv.Create(ctx, expired, record("x", 1, -mongostore.Grace-time.Minute)); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	putClaim(t, coll, alive, 1, 0, past)
	putClaim(t, coll, deleted, 1, 0, past)
	putClaim(t, coll, deleted, 1, 1, past)
	putClaim(t, coll, expired, 1, 0, past)
	putClaim(t, coll, key(), 1, 0, time.Now().Add(time.Hour)) // holds: kept whatever its session
	if err := kv.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired() = %d, %v; want 1 (the expired session; claims are not counted)", n, err)
	}
	if n := count(t, coll, claims); n != 2 {
		t.Errorf("%d claims left, want 2 (the live session's, the one that holds)", n)
	}
	if n := count(t, coll, bson.D{{Key: "claim", Value: bson.Binary{Data: binary.BigEndian.AppendUint64([]byte(alive), 1)}}}); n != 1 {
		t.Errorf("the live session's claim was deleted")
	}
}
