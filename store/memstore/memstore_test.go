package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

func TestKV(t *testing.T) {
	storetest.RunKV(t, func(t *testing.T) store.KV {
		return newStore(t, memstore.Options{}).KV
	})
}

// TestKVOptions runs the suite against a store with every option set: a small bound (no
// subtest holds more than 64 records at once) and an explicit clock.
func TestKVOptions(t *testing.T) {
	storetest.RunKV(t, func(t *testing.T) store.KV {
		return newStore(t, memstore.Options{Now: time.Now, MaxSessions: 64}).KV
	})
}

// clock is a fake clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newKey() string { return storetest.NewKey() }

func rec(c *clock, data string, ttl time.Duration) store.Record {
	return store.Record{Data: []byte(data), Expiry: c.Now().Add(ttl), Created: c.Now(), Version: 1}
}

func TestClock(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now})
	ctx := t.Context()
	k := newKey()
	if err := s.KV.Create(ctx, k, rec(c, "x", time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute - time.Nanosecond)
	if _, found, err := s.KV.Get(ctx, k); !found || err != nil {
		t.Fatalf("Get a nanosecond before Expiry = %v, %v, want found", found, err)
	}
	c.Add(time.Nanosecond)
	if _, found, err := s.KV.Get(ctx, k); found || err != nil {
		t.Fatalf("Get at Expiry = %v, %v, want not found", found, err)
	}
	// An expired record makes room for a Create at its key.
	if err := s.KV.Create(ctx, k, rec(c, "y", time.Minute)); err != nil {
		t.Fatalf("Create over an expired record: %v", err)
	}
	if got, _, _ := s.KV.Get(ctx, k); string(got.Data) != "y" {
		t.Errorf("Get after Create over an expired record: Data = %q, want %q", got.Data, "y")
	}
	if n := s.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

func TestDeleteExpired(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now})
	ctx := t.Context()
	owner := "alice"
	var live []string
	for i := range 100 {
		r := rec(c, "x", time.Duration(i%2+1)*time.Minute) // half expire after 1m, half after 2m
		r.Owner = owner
		k := newKey()
		if err := s.KV.Create(ctx, k, r); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			live = append(live, k)
		}
	}
	c.Add(time.Minute)
	n, err := s.DeleteExpired(ctx)
	if n != 50 || err != nil {
		t.Fatalf("DeleteExpired = %d, %v, want 50, nil", n, err)
	}
	if got := s.Len(); got != 50 {
		t.Errorf("Len after DeleteExpired = %d, want 50", got)
	}
	owned, err := s.KV.(store.OwnerKV).Owned(ctx, owner)
	if err != nil || len(owned) != 50 {
		t.Errorf("Owned after DeleteExpired: %d records, %v, want 50", len(owned), err)
	}
	for _, k := range live {
		if _, ok := owned[k]; !ok {
			t.Errorf("Owned misses a live record")
		}
	}
	if n, err := s.DeleteExpired(ctx); n != 0 || err != nil {
		t.Errorf("second DeleteExpired = %d, %v, want 0, nil", n, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.DeleteExpired(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteExpired with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestMaxSessions(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		expired int // records that have expired when the store fills
	}{
		{"evicts live", 10, 0},
		{"some expired", 10, 5},
		{"one", 1, 0},
		{"large", 1000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: tc.max})
			ctx := t.Context()
			for i := range tc.max {
				ttl := time.Hour + time.Duration(i)*time.Minute // later records live longer
				if i < tc.expired {
					ttl = time.Second
				}
				if err := s.KV.Create(ctx, newKey(), rec(c, "x", ttl)); err != nil {
					t.Fatal(err)
				}
			}
			c.Add(time.Minute)
			// Fill past the bound, many times over.
			for i := range 5 * tc.max {
				if err := s.KV.Create(ctx, newKey(), rec(c, "y", 10*time.Hour)); err != nil {
					t.Fatal(err)
				}
				if n := s.Len(); n > tc.max {
					t.Fatalf("after %d Creates over the bound: Len = %d, want at most MaxSessions %d", i+1, n, tc.max)
				}
			}
			// Full again, unless the last Creates dropped several expired records at once.
			if n := s.Len(); n > tc.max || n < tc.max-tc.expired {
				t.Errorf("Len = %d, want MaxSessions %d (or up to %d fewer)", n, tc.max, tc.expired)
			}
			// The newest record is never the one evicted to make room for itself.
			k := newKey()
			if err := s.KV.Create(ctx, k, rec(c, "newest", 10*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, found, _ := s.KV.Get(ctx, k); !found || string(got.Data) != "newest" {
				t.Errorf("Get of the newest record = %q, %v, want it found", got.Data, found)
			}
		})
	}
}

// TestEvictsExpiredFirst checks the eviction policy on a single shard's worth of
// records: with MaxSessions 2 and one expired record, the live one survives.
func TestEvictsExpiredFirst(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: 2})
	ctx := t.Context()
	// Keys in one shard, so that the sample sees both.
	k1, k2, k3 := "\x00one"+pad, "\x00two"+pad, "\x00three"+pad[:len(pad)-2]
	if err := s.KV.Create(ctx, k1, rec(c, "expiring", time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.KV.Create(ctx, k2, rec(c, "live", time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	if err := s.KV.Create(ctx, k3, rec(c, "new", time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{k2, k3} {
		if _, found, _ := s.KV.Get(ctx, k); !found {
			t.Errorf("Get %q: not found; the expired record should have been dropped instead", k)
		}
	}
	if n := s.Len(); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	// With no expired record, the oldest goes (both came back: they were read).
	k4 := "\x00four" + pad[:len(pad)-1]
	if err := s.KV.Create(ctx, k4, rec(c, "newer", 2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// k2 and k3 both expire in an hour; k2 a minute earlier.
	if _, found, _ := s.KV.Get(ctx, k2); found {
		t.Errorf("the oldest record survived an eviction")
	}
	for _, k := range []string{k3, k4} {
		if _, found, _ := s.KV.Get(ctx, k); !found {
			t.Errorf("Get %q: not found after evicting another", k)
		}
	}
}

const pad = "0123456789012345678901234567"

func TestCleanup(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now})
	ctx := t.Context()
	if err := s.Close(); err != nil { // safe before StartCleanup
		t.Fatalf("Close before StartCleanup = %v", err)
	}
	before := runtime.NumGoroutine()
	for range 10 {
		if err := s.KV.Create(ctx, newKey(), rec(c, "x", time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(time.Minute)
	s.StartCleanup(time.Millisecond)
	s.StartCleanup(time.Millisecond) // replaces the first sweeper
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper did not remove expired records: Len = %d", s.Len())
		}
		time.Sleep(time.Millisecond) // polling, not ordering
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	// Close returns once the sweeper has stopped, and its goroutine is gone (or about to
	// be: it may still be returning). This test is not parallel, so no other test adds
	// goroutines meanwhile.
	for after := runtime.NumGoroutine(); after > before; after = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before StartCleanup, %d after Close: the sweeper leaked", before, after)
		}
		time.Sleep(time.Millisecond) // polling, not ordering
	}
	// Nothing sweeps after Close. The sweeper's ticker runs on real time, which the
	// test clock does not move: twenty of its intervals pass here. A Close that stopped
	// nothing fails below; a correct one passes however long this takes.
	if err := s.KV.Create(ctx, newKey(), rec(c, "x", time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	time.Sleep(20 * time.Millisecond)
	if n := s.Len(); n != 1 {
		t.Errorf("Len after Close = %d, want 1: a sweeper still runs", n)
	}
}

func TestStartCleanupPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("StartCleanup(0) did not panic")
		}
	}()
	newStore(t, memstore.Options{}).StartCleanup(0)
}

// TestConcurrentMixed hammers every operation at once, for the race detector and for
// the invariants of the count and the owner index. Records expire during the run, on a
// test clock that the goroutines move; the clock then stands still, so that the final
// Owned and DeleteOwned judge expiry at the same instant.
func TestConcurrentMixed(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{MaxSessions: 200, Now: c.Now})
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			owner := fmt.Sprint("owner", g%3)
			var mine []string
			for i := range 300 {
				if i%10 == 0 {
					c.Add(time.Millisecond)
				}
				k := newKey()
				r := store.Record{Data: []byte("x"), Expiry: c.Now().Add(time.Duration(i%5) * time.Millisecond), Version: 1, Owner: owner}
				if err := s.KV.Create(ctx, k, r); err != nil {
					t.Error(err)
					return
				}
				mine = append(mine, k)
				k = mine[i/2]
				s.KV.Get(ctx, k)
				s.KV.Update(ctx, k, 1, r)
				s.KV.Touch(ctx, k, c.Now(), c.Now().Add(time.Hour))
				if i%7 == 0 {
					s.KV.Delete(ctx, k)
				}
				if i%50 == 0 {
					s.KV.(store.OwnerKV).Owned(ctx, owner)
					s.DeleteExpired(ctx)
				}
				if i%97 == 0 {
					s.DeleteOwned(ctx, owner, "")
				}
			}
		})
	}
	wg.Wait()
	if n := s.Len(); n < 0 || n > 200 {
		t.Errorf("Len = %d, want between 0 and MaxSessions 200", n)
	}
	// The owner index lists exactly the live records: deleting all of them empties it.
	for o := range 3 {
		owner := fmt.Sprint("owner", o)
		owned, err := s.KV.(store.OwnerKV).Owned(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteOwned(ctx, owner, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(n) != len(owned) {
			t.Errorf("DeleteOwned(%s) = %d keys, but Owned listed %d", owner, len(n), len(owned))
		}
	}
	s.DeleteExpired(ctx)
	if n := s.Len(); n != 0 {
		t.Errorf("Len after deleting every owner's records and the expired ones = %d, want 0", n)
	}
}

// A Manager over a memstore, serving a cart; the Store bounds the sessions it keeps and
// sweeps the expired ones every minute.
func Example() {
	st, err := memstore.New(memstore.Options{MaxSessions: 10_000})
	if err != nil {
		log.Fatal(err)
	}
	st.StartCleanup(time.Minute)
	defer st.Close()

	type Cart struct{ Items []string }
	sessions, err := typedsession.New[Cart](st, typedsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		err := sessions.Update(r.Context(), func(c *Cart) error {
			c.Items = append(c.Items, r.FormValue("item"))
			return nil
		})
		if err != nil {
			return // the middleware answers with Options.ErrorHandler
		}
	})
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		c, err := sessions.Get(r.Context())
		if err != nil {
			return
		}
		fmt.Fprint(w, c.Items)
	})

	srv := httptest.NewTLSServer(sessions.Handler(mux))
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	for _, item := range []string{"book", "pen"} {
		resp, err := client.Post(srv.URL+"/cart?item="+item, "", nil)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := client.Get(srv.URL + "/cart")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	fmt.Println("sessions stored:", st.Len())
	// Output:
	// [book pen]
	// sessions stored: 1
}

func ExampleOptions_now() {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	st, err := memstore.New(memstore.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	token, _ := st.Save(ctx, "", 0, store.Record{Data: []byte("hi"), Expiry: now.Add(time.Minute)})
	_, found, _ := st.Load(ctx, token)
	fmt.Println("before expiry:", found)

	now = now.Add(time.Minute)
	_, found, _ = st.Load(ctx, token)
	fmt.Println("at expiry:", found)
	n, _ := st.DeleteExpired(ctx)
	fmt.Println("removed:", n)
	// Output:
	// before expiry: true
	// at expiry: false
	// removed: 1
}

// newStore returns a Store with options o, which must be valid.
func newStore(tb testing.TB, o memstore.Options) *memstore.Store {
	tb.Helper()
	s, err := memstore.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	if _, err := memstore.New(memstore.Options{MaxSessions: -1}); err == nil || !strings.HasPrefix(err.Error(), "memstore: ") {
		t.Errorf("New with a negative MaxSessions: err = %v, want a memstore: error", err)
	}
}
