package mongostore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	id, on := mongostore.ClaimID(key, version, gen)
	_, err := coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: id},
		{Key: "claim", Value: on},
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
	if _, on := mongostore.ClaimID(alive, 1, 0); count(t, coll, bson.D{{Key: "claim", Value: on}}) != 1 {
		t.Errorf("the live session's claim was deleted")
	}
}

// TestClaimID checks the form of a claim's _id: "c:", the key, the version and the
// generation in fixed-width hexadecimal, so that the generations of one claim sort in
// order as strings.
func TestClaimID(t *testing.T) {
	k := string([]byte{0, 1, 0xfe, 0xff, 31: 0x7f})
	id, on := mongostore.ClaimID(k, 0xdeadbeef, 10)
	want := "c:0001feff" + strings.Repeat("00", 27) + "7f:00000000deadbeef"
	if on != want || id != want+":000000000000000a" {
		t.Errorf("ClaimID = %q, %q; want %q, %q", id, on, want+":000000000000000a", want)
	}
	prev := ""
	for _, gen := range []uint64{0, 1, 9, 10, 15, 16, 255, 1 << 32, 1<<64 - 1} {
		id, _ := mongostore.ClaimID(k, 1, gen)
		if id <= prev {
			t.Errorf("generation %d sorts before the one before it: %q <= %q", gen, id, prev)
		}
		prev = id
	}
}

// TestTouchRacesUpdate races touches with compare-and-swap increments on one session:
// a touch may not write back a document an update has just replaced (FerretDB runs an
// update as a read, then a write of the whole document), so every acknowledged
// increment is in the final record, in each mode atomic on the server.
func TestTouchRacesUpdate(t *testing.T) {
	t.Parallel()
	for _, mode := range writeModes(t) {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, mongostore.Options{Writes: mode})
			kv, ctx := s.KV, t.Context()
			k := key()
			if err := kv.Create(ctx, k, record("0", 1, time.Hour)); err != nil {
				t.Fatal(err)
			}
			const updaters, each, touchers = 3, 15, 3
			var (
				wg    sync.WaitGroup
				acked atomic.Int64
				done  = make(chan struct{})
			)
			for range touchers {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-done:
							return
						default:
						}
						now := time.UnixMilli(time.Now().UnixMilli())
						if err := kv.Touch(ctx, k, now, now.Add(time.Hour+time.Duration(i)*time.Millisecond)); err != nil {
							t.Errorf("Touch: %v", err)
							return
						}
					}
				})
			}
			var upd sync.WaitGroup
			for range updaters {
				upd.Go(func() {
					for range each {
						for {
							rec, found, err := kv.Get(ctx, k)
							if err != nil || !found {
								t.Errorf("Get = found %v, err %v", found, err)
								return
							}
							n, _ := strconv.Atoi(string(rec.Data))
							v := rec.Version
							rec.Data, rec.Version = []byte(strconv.Itoa(n+1)), v+1
							err = kv.Update(ctx, k, v, rec)
							if err == nil {
								acked.Add(1)
								break
							}
							if !errors.Is(err, store.ErrConflict) {
								t.Errorf("Update: %v", err)
								return
							}
						}
					}
				})
			}
			upd.Wait()
			close(done)
			wg.Wait()
			rec, _, err := kv.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if n := acked.Load(); string(rec.Data) != strconv.FormatInt(n, 10) || rec.Version != uint64(n)+1 {
				t.Errorf("after %d acknowledged increments among touches: Data %q, Version %d; want %d and %d (a touch wrote an old document back)",
					n, rec.Data, rec.Version, n, n+1)
			}
		})
	}
}

// TestAnswered checks which errors say a write reached its end on the server (its
// claim may go) and which leave it possibly on its way (its claim must stay).
func TestAnswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"success", nil, true},
		{"conflict", store.ErrConflict, true},
		{"server error", mongo.CommandError{Code: 2, Message: "BadValue"}, true},
		{"write error", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 10334, Message: "too large"}}}, true},
		{"network error as a command error", mongo.CommandError{Labels: []string{"NetworkError"}, Message: "connection closed"}, false},
		{"deadline", fmt.Errorf("replace: %w", context.DeadlineExceeded), false},
		{"cancelled", fmt.Errorf("replace: %w", context.Canceled), false},
		{"server selection", errors.New("server selection error: context deadline exceeded"), false},
	} {
		if got := mongostore.Answered(tc.err); got != tc.want {
			t.Errorf("answered(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
