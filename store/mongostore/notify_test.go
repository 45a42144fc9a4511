package mongostore_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// TestNotify checks, in each write mode, what the functions registered with Notify
// hear of DeleteExpired: every expired session it deletes (ID, Owner, store.Expired,
// a Time), never a marker nor a live session, each registered function all of it, a
// cancelled one nothing; and that DeleteExpired deletes one by one only while someone
// listens. Every expired record expired longer ago than the grace of claimed mode.
func TestNotify(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			// deletes counts the delete commands the client sends: a deleteMany and a
			// deleteOne are one each.
			var deletes atomic.Int64
			c := connect(t, "", options.Client().SetMonitor(&event.CommandMonitor{
				Started: func(_ context.Context, e *event.CommandStartedEvent) {
					if e.CommandName == "delete" {
						deletes.Add(1)
					}
				},
			}))
			s := mustNew(t, collection(t, c), mongostore.Options{Writes: mode})
			kv, ctx := s.KV, t.Context()
			create := func(owner string, ended store.EndReason, ttl time.Duration) string {
				t.Helper()
				k := key()
				rec := record("x", 1, ttl)
				rec.Owner, rec.Ended = owner, ended
				if ended != store.NotEnded {
					rec.Data = nil
				}
				if err := kv.Create(ctx, k, rec); err != nil {
					t.Fatal(err)
				}
				return k
			}
			// deleteExpired calls DeleteExpired, which must delete want documents, and
			// returns how many delete commands it sent.
			deleteExpired := func(want int) int64 {
				t.Helper()
				before := deletes.Load()
				if n, err := s.DeleteExpired(ctx); err != nil || n != want {
					t.Fatalf("DeleteExpired() = %d, %v; want %d, nil", n, err, want)
				}
				return deletes.Load() - before
			}

			// Nobody listens: one deleteMany, and nothing to hear.
			create("alice", store.NotEnded, -time.Hour)
			create("bob", store.NotEnded, -time.Hour)
			if d := deleteExpired(2); d != 1 {
				t.Errorf("DeleteExpired of two documents without a function registered sent %d delete commands; want one deleteMany", d)
			}

			var a, b storetest.Removals
			cancelA := s.Notify(a.Add)
			cancelB := s.Notify(b.Add)
			want := []store.Removal{
				{ID: store.KeyID(create("alice", store.NotEnded, -time.Hour)), Owner: "alice", Reason: store.Expired},
				{ID: store.KeyID(create("", store.NotEnded, -2*time.Minute)), Reason: store.Expired},
				{ID: store.KeyID(create("bob", store.NotEnded, -time.Hour)), Owner: "bob", Reason: store.Expired},
			}
			slices.SortFunc(want, func(a, b store.Removal) int { return strings.Compare(a.ID, b.ID) })
			create("alice", store.Destroyed, -time.Hour)       // an expired marker: deleted, not reported
			live := create("alice", store.NotEnded, time.Hour) // not deleted, not reported

			before := time.Now()
			if d := deleteExpired(4); d != 4 {
				t.Errorf("DeleteExpired of four documents with functions registered sent %d delete commands; want a deleteOne each", d)
			}
			after := time.Now()
			for name, r := range map[string]*storetest.Removals{"first": &a, "second": &b} {
				got := r.Take()
				for i := range got {
					if got[i].Time.Before(before) || got[i].Time.After(after) {
						t.Errorf("%s function: %+v: Time not within the call of DeleteExpired [%v, %v]", name, got[i], before, after)
					}
					got[i].Time = time.Time{}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s function heard %+v;\nwant the three expired sessions (no marker, no live session) %+v", name, got, want)
				}
			}
			if _, found, err := kv.Get(ctx, live); !found || err != nil {
				t.Errorf("Get(live) = found %v, err %v; want found", found, err)
			}

			// A cancelled function hears nothing more; the other still does.
			cancelA()
			cancelA() // a second cancel does nothing
			gone := store.KeyID(create("carol", store.NotEnded, -time.Hour))
			deleteExpired(1)
			if got := a.Take(); len(got) != 0 {
				t.Errorf("a cancelled function heard %+v; want nothing", got)
			}
			if got := b.Take(); len(got) != 1 || got[0].ID != gone || got[0].Owner != "carol" || got[0].Reason != store.Expired {
				t.Errorf("the function still registered heard %+v; want carol's session %s, expired", got, gone)
			}

			// Everyone cancelled: one deleteMany again.
			cancelB()
			create("dave", store.NotEnded, -time.Hour)
			create("erin", store.NotEnded, -time.Hour)
			if d := deleteExpired(2); d != 1 {
				t.Errorf("DeleteExpired of two documents once every function was cancelled sent %d delete commands; want one deleteMany", d)
			}
			if got := b.Take(); len(got) != 0 {
				t.Errorf("a cancelled function heard %+v; want nothing", got)
			}
		})
	}
}

// TestNotifyManager checks, in each write mode, that a Manager's OnEvent hears of
// the sessions DeleteExpired deletes, as SessionCleaned with their ID and Owner.
func TestNotifyManager(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, mongostore.Options{Writes: mode})
			storetest.RunCleanupEvents(t, s, s.DeleteExpired)
		})
	}
}

// TestNotifyChanged checks that DeleteExpired, while someone listens, reports what it
// deleted rather than what its find read: a document whose owner changes between the
// find and the delete stays, unreported, and the next call deletes it and reports
// its new owner.
func TestNotifyChanged(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mode})
			ctx := t.Context()
			k := key()
			rec := record("x", 1, -time.Hour)
			rec.Owner = "alice"
			if err := s.KV.Create(ctx, k, rec); err != nil {
				t.Fatal(err)
			}
			var heard storetest.Removals
			defer s.Notify(heard.Add)()
			mongostore.SetHook(s, func(point string) {
				if point != "expired found" {
					return
				}
				_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: bson.Binary{Data: []byte(k)}}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "owner", Value: "mallory"}}}})
				if err != nil {
					t.Errorf("changing the owner: %v", err)
				}
			})
			if n, err := s.DeleteExpired(ctx); err != nil || n != 0 {
				t.Errorf("DeleteExpired() with the owner changed after the find = %d, %v; want 0, nil", n, err)
			}
			if got := heard.Take(); len(got) != 0 {
				t.Errorf("heard %+v of a document whose owner changed after the find; want nothing", got)
			}
			mongostore.SetHook(s, nil)
			if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
				t.Errorf("DeleteExpired() = %d, %v; want 1, nil", n, err)
			}
			if got := heard.Take(); len(got) != 1 || got[0].ID != store.KeyID(k) || got[0].Owner != "mallory" {
				t.Errorf("heard %+v; want the session %s with its new owner mallory", got, store.KeyID(k))
			}
		})
	}
}
