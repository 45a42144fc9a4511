package mongostore_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/seed96b21533/typedsession/store/mongostore"
)

// seedExpired inserts n session documents that expired an hour ago (longer than the
// grace of claimed mode) into coll.
func seedExpired(t testing.TB, coll *mongo.Collection, n int) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	docs := make([]any, n)
	for i := range docs {
		k := make([]byte, 32)
		rand.Read(k)
		docs[i] = bson.D{
			{Key: "_id", Value: bson.Binary{Data: k}},
			{Key: "data", Value: bson.Binary{Data: []byte("{}")}},
			{Key: "expiry", Value: past},
			{Key: "created", Value: past.Add(-time.Hour)},
			{Key: "version", Value: int64(1)},
			{Key: "rememberMe", Value: false},
			{Key: "ended", Value: int32(0)},
		}
	}
	if _, err := coll.InsertMany(context.Background(), docs); err != nil {
		t.Fatalf("seeding %d expired documents: %v", n, err)
	}
}

// expiredFilter is the filter of the documents that have expired.
func expiredFilter() bson.D {
	return bson.D{{Key: "expiry", Value: bson.D{{Key: "$lte", Value: time.Now()}}}}
}

// TestDeleteExpired deletes expired documents in batches while other goroutines read
// live sessions, which are found throughout, in each write mode.
func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	// FerretDB scans the whole collection for every command: keep it small there.
	const expired = 300
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mode, BatchSize: 100})
			kv, ctx := s.KV, t.Context()
			seedExpired(t, coll, expired)
			live := make([]string, 8)
			for i := range live {
				live[i] = key()
				if err := kv.Create(ctx, live[i], record("live", 1, time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			stop := make(chan struct{})
			var reads atomic.Int64
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Go(func() {
					for i := g; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if _, found, err := kv.Get(ctx, live[i%len(live)]); err != nil || !found {
							t.Errorf("Get(live session) during cleanup = found %v, err %v", found, err)
						}
						reads.Add(1)
					}
				})
			}
			n, err := s.DeleteExpired(ctx)
			close(stop)
			wg.Wait()
			if err != nil || n != expired {
				t.Errorf("DeleteExpired() = %d, %v; want %d, nil", n, err, expired)
			}
			if all, left := count(t, coll, nil), count(t, coll, expiredFilter()); left != 0 || all != int64(len(live)) {
				t.Errorf("after DeleteExpired: %d documents, %d expired; want %d live, 0 expired", all, left, len(live))
			}
			t.Logf("%d reads of live sessions during the cleanup", reads.Load())
		})
	}
}

// TestDeleteExpiredGrace checks that in claimed mode a session is deleted only a
// minute after it expired, and in place at once.
func TestDeleteExpiredGrace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode mongostore.WriteMode
		want int
	}{{mongostore.WriteInPlace, 1}, {mongostore.WriteClaimed, 0}} {
		s, _ := newStore(t, mongostore.Options{Writes: tc.mode})
		if err := s.KV.Create(t.Context(), key(), record("x", 1, -time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpired(t.Context()); err != nil || n != tc.want {
			t.Errorf("%v: DeleteExpired of a session expired a second ago = %d, %v; want %d", tc.mode, n, err, tc.want)
		}
	}
}

// TestDeleteExpiredConcurrently runs DeleteExpired from several instances at once:
// every expired document is deleted, and counted, exactly once.
func TestDeleteExpiredConcurrently(t *testing.T) {
	t.Parallel()
	const expired = 200
	seed, coll := newStore(t, mongostore.Options{})
	seedExpired(t, coll, expired)
	live := key()
	if err := seed.KV.Create(t.Context(), live, record("live", 1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		s := mustNew(t, coll, mongostore.Options{BatchSize: 25})
		wg.Go(func() {
			n, err := s.DeleteExpired(t.Context())
			if err != nil {
				t.Errorf("DeleteExpired: %v", err)
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	if left := count(t, coll, expiredFilter()); left != 0 {
		t.Errorf("%d expired documents left", left)
	}
	if got := total.Load(); got != expired {
		t.Errorf("DeleteExpired deleted %d in total, want %d", got, expired)
	}
	if _, found, err := seed.KV.Get(t.Context(), live); !found || err != nil {
		t.Errorf("Get(live) = found %v, err %v; want found", found, err)
	}
}

// TestDeleteExpiredCancelled checks that DeleteExpired honours its context.
func TestDeleteExpiredCancelled(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{})
	seedExpired(t, coll, 10)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.DeleteExpired(ctx); err == nil {
		t.Error("DeleteExpired with a cancelled context: err = nil")
	}
	if left := count(t, coll, expiredFilter()); left != 10 {
		t.Errorf("%d expired documents left, want 10 untouched", left)
	}
}

// TestStartCleanup checks that the background cleanup deletes expired documents, and
// that Close stops it and may be called again (or without a cleanup).
func TestStartCleanup(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{})
	if err := s.Close(); err != nil { // nothing started
		t.Errorf("Close before StartCleanup: %v", err)
	}
	seedExpired(t, coll, 100)
	s.StartCleanup(time.Hour)
	s.StartCleanup(5 * time.Millisecond) // replaces the first
	deadline := time.Now().Add(30 * time.Second)
	for count(t, coll, expiredFilter()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background cleanup did not delete the expired documents within 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling the collection, not ordering
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	// Stopped: new expired documents stay. The cleanup's ticker runs on real time: ten
	// of its intervals pass here. A Close that stopped nothing fails below; a correct
	// one passes however long this takes.
	seedExpired(t, coll, 10)
	time.Sleep(50 * time.Millisecond)
	if left := count(t, coll, expiredFilter()); left != 10 {
		t.Errorf("after Close, %d expired documents left; want the 10 new ones untouched", left)
	}
}
