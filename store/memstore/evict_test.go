package memstore_test

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// Groups of keys, so that the keys of each group differ from the others'.
const (
	groupOwned byte = iota
	groupReturning
	groupFlood
	groupOther
)

// seqKey returns the i-th key of group. Its first byte is i: the store shards by the
// first byte, so consecutive keys spread evenly over the shards and the tests below
// depend on nothing random.
func seqKey(group byte, i int) string {
	var b [32]byte
	b[0], b[1] = byte(i), group
	binary.BigEndian.PutUint64(b[2:], uint64(i))
	return string(b[:])
}

// sessionTTL is the lifetime of every session in these tests: none expires.
const sessionTTL = time.Hour

// newSession returns a session as a Manager creates it at c's time: Version 1, Active
// equal to Created.
func newSession(c *clock, owner string) store.Record {
	now := c.Now()
	return store.Record{Data: []byte("cart"), Expiry: now.Add(sessionTTL), Created: now, Active: now, Version: 1, Owner: owner}
}

// A comeBack makes the anonymous session at key, created a second earlier, come back
// as the Manager does for a request that bears its token. "renew" creates it anew
// instead, as a Renew does: an old Created, a new Active.
type comeBack struct {
	name string
	f    func(t *testing.T, s *memstore.Store, c *clock, key string)
}

var comeBacks = []comeBack{
	{"get", func(t *testing.T, s *memstore.Store, c *clock, key string) {
		if _, found, err := s.KV.Get(t.Context(), key); !found || err != nil {
			t.Fatalf("Get = %v, %v, want found", found, err)
		}
	}},
	{"touch", func(t *testing.T, s *memstore.Store, c *clock, key string) {
		if err := s.KV.Touch(t.Context(), key, c.Now(), c.Now().Add(sessionTTL)); err != nil {
			t.Fatal(err)
		}
	}},
	{"update", func(t *testing.T, s *memstore.Store, c *clock, key string) {
		r := newSession(c, "")
		r.Version = 2
		if err := s.KV.Update(t.Context(), key, 1, r); err != nil {
			t.Fatal(err)
		}
	}},
	{"renew", func(t *testing.T, s *memstore.Store, c *clock, key string) {
		if err := s.KV.Delete(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		r := newSession(c, "")
		r.Created = c.Now().Add(-time.Second)
		if err := s.KV.Create(t.Context(), key, r); err != nil {
			t.Fatal(err)
		}
	}},
}

// population is what a store holds before a flood.
type population struct {
	owned, returning []string
}

// populate creates nOwned sessions with an owner each, then nReturning anonymous ones
// that come back as cb says, a second after their creation.
func populate(t *testing.T, s *memstore.Store, c *clock, nOwned, nReturning int, cb comeBack) population {
	t.Helper()
	ctx := t.Context()
	var p population
	for i := range nOwned {
		k := seqKey(groupOwned, i)
		if err := s.KV.Create(ctx, k, newSession(c, fmt.Sprint("user", i))); err != nil {
			t.Fatal(err)
		}
		p.owned = append(p.owned, k)
	}
	for i := range nReturning {
		k := seqKey(groupReturning, i)
		if err := s.KV.Create(ctx, k, newSession(c, "")); err != nil {
			t.Fatal(err)
		}
		p.returning = append(p.returning, k)
	}
	c.Add(time.Second)
	for _, k := range p.returning {
		cb.f(t, s, c, k)
	}
	return p
}

// flood creates n anonymous sessions that never come back, a millisecond apart, and
// fails the test if Len ever passes max.
func flood(t *testing.T, s *memstore.Store, c *clock, n, max int, between func(i int)) {
	t.Helper()
	ctx := t.Context()
	for i := range n {
		c.Add(time.Millisecond)
		if err := s.KV.Create(ctx, seqKey(groupFlood, i), newSession(c, "")); err != nil {
			t.Fatal(err)
		}
		if got := s.Len(); got > max {
			t.Fatalf("after %d Creates of the flood: Len = %d, want at most MaxSessions %d", i+1, got, max)
		}
		if between != nil {
			between(i)
		}
	}
}

// alive returns how many of keys hold a live record.
func alive(t *testing.T, s *memstore.Store, keys []string) int {
	t.Helper()
	n := 0
	for _, k := range keys {
		_, found, err := s.KV.Get(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			n++
		}
	}
	return n
}

// atLeast reports whether got is at least percent% of n.
func atLeast(got, n, percent int) bool { return got*100 >= n*percent }

// TestFlood is the goal of the eviction policy: with owned sessions at 10% of
// MaxSessions and as many anonymous sessions that came back (read, touched, written or
// renewed), a flood of 10×MaxSessions anonymous sessions that never come back leaves at
// least 99% of the owned and 90% of the returning sessions alive, and the store never
// holds more than MaxSessions records.
func TestFlood(t *testing.T) {
	for _, max := range []int{100, 1000, 10_000} {
		for _, cb := range comeBacks {
			t.Run(fmt.Sprintf("max=%d/comeback=%s", max, cb.name), func(t *testing.T) {
				t.Parallel()
				c := newClock()
				s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: max})
				p := populate(t, s, c, max/10, max/10, cb)
				flood(t, s, c, 10*max, max, nil)
				gotOwned, gotReturning := alive(t, s, p.owned), alive(t, s, p.returning)
				t.Logf("after a flood of %d: owned alive %d/%d, returning alive %d/%d", 10*max, gotOwned, len(p.owned), gotReturning, len(p.returning))
				if !atLeast(gotOwned, len(p.owned), 99) {
					t.Errorf("owned sessions alive = %d of %d, want at least 99%%", gotOwned, len(p.owned))
				}
				if !atLeast(gotReturning, len(p.returning), 90) {
					t.Errorf("returning anonymous sessions alive = %d of %d, want at least 90%%", gotReturning, len(p.returning))
				}
				if got := s.Len(); got != max {
					t.Errorf("Len after the flood = %d, want MaxSessions %d", got, max)
				}
				if err := s.CheckLists(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestFloodProtectedFill covers the documented limit of the policy: probation keeps at
// least a tenth of MaxSessions, so a flood evicts protected sessions while they hold
// more than nine tenths of it, and no further; it takes the ones not used lately first,
// and anonymous ones before owned ones.
func TestFloodProtectedFill(t *testing.T) {
	const max = 1000
	tests := []struct {
		name             string
		owned, returning int
		wantOwned        int // alive after the flood
		wantReturning    int
	}{
		{name: "owned fill the cap", owned: max, wantOwned: max - max/10},
		{name: "owned at 95%", owned: 950, wantOwned: max - max/10},
		{name: "owned at 90%", owned: 900, wantOwned: 900},
		// Returning anonymous sessions go first: the owned lose nothing.
		{name: "owned and returning fill the cap", owned: 500, returning: 500, wantOwned: 500, wantReturning: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: max})
			p := populate(t, s, c, tc.owned, tc.returning, comeBacks[0])
			// Of each group, the sessions of alternate rounds over the shards are used
			// (once more) before the flood: those of the first round are the oldest of
			// their shard, and would go first otherwise.
			var usedOwned, usedReturning []string
			for i, k := range p.owned {
				if i/64%2 == 1 {
					usedOwned = append(usedOwned, k)
				}
			}
			for i, k := range p.returning {
				if i/64%2 == 1 {
					usedReturning = append(usedReturning, k)
				}
			}
			alive(t, s, usedOwned)
			alive(t, s, usedReturning)
			flood(t, s, c, 10*max, max, nil)
			gotOwned, gotReturning := alive(t, s, p.owned), alive(t, s, p.returning)
			t.Logf("owned alive %d/%d, returning alive %d/%d", gotOwned, len(p.owned), gotReturning, len(p.returning))
			if gotOwned != tc.wantOwned {
				t.Errorf("owned sessions alive = %d, want %d", gotOwned, tc.wantOwned)
			}
			if gotReturning != tc.wantReturning {
				t.Errorf("returning anonymous sessions alive = %d, want %d", gotReturning, tc.wantReturning)
			}
			if got := alive(t, s, usedOwned); got != len(usedOwned) {
				t.Errorf("owned sessions used before the flood: %d of %d alive, want all: the ones not used go first", got, len(usedOwned))
			}
			if got := alive(t, s, usedReturning); got != len(usedReturning) {
				t.Errorf("returning sessions used again before the flood: %d of %d alive, want all: the ones used least go first", got, len(usedReturning))
			}
			if err := s.CheckLists(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFloodReturningAttacker covers the other documented risk: an attacker who reads
// every session he creates again gets it protected. He then pushes out the anonymous
// sessions that came back once and were not used since, but neither the ones in use
// nor any owned session.
func TestFloodReturningAttacker(t *testing.T) {
	const max = 1000
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: max})
	p := populate(t, s, c, max/10, max/10, comeBacks[0])
	active, idle := p.returning[:len(p.returning)/2], p.returning[len(p.returning)/2:]
	ctx := t.Context()
	flood(t, s, c, 10*max, max, func(i int) {
		if _, found, err := s.KV.Get(ctx, seqKey(groupFlood, i)); !found || err != nil {
			t.Fatalf("the attacker's Get of his newest session = %v, %v, want found", found, err)
		}
		if i%(max/10) == 0 { // the active users use their sessions every 100 requests
			alive(t, s, active)
		}
	})
	gotOwned, gotActive, gotIdle := alive(t, s, p.owned), alive(t, s, active), alive(t, s, idle)
	t.Logf("owned alive %d/%d, active returning alive %d/%d, idle returning alive %d/%d", gotOwned, len(p.owned), gotActive, len(active), gotIdle, len(idle))
	if gotOwned != len(p.owned) {
		t.Errorf("owned sessions alive = %d of %d, want all", gotOwned, len(p.owned))
	}
	if gotActive != len(active) {
		t.Errorf("returning sessions in use alive = %d of %d, want all", gotActive, len(active))
	}
	if err := s.CheckLists(); err != nil {
		t.Error(err)
	}
}

// TestTiers checks how the store classes records: by owner, by use after creation, and
// markers, which are no longer owned.
func TestTiers(t *testing.T) {
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: 4})
	ctx := t.Context()
	want := func(probation, returned, owned int) {
		t.Helper()
		if p, r, o := s.Tiers(); p != probation || r != returned || o != owned {
			t.Errorf("Tiers() = %d, %d, %d, want %d, %d, %d", p, r, o, probation, returned, owned)
		}
		if err := s.CheckLists(); err != nil {
			t.Error(err)
		}
	}
	anon, alice := seqKey(groupOther, 0), seqKey(groupOther, 1)
	if err := s.KV.Create(ctx, anon, newSession(c, "")); err != nil {
		t.Fatal(err)
	}
	if err := s.KV.Create(ctx, alice, newSession(c, "alice")); err != nil {
		t.Fatal(err)
	}
	want(1, 0, 1)
	// A read is noted without a lock for writing: the record stays in probation until
	// an eviction reaches it.
	s.KV.Get(ctx, anon)
	want(1, 0, 1)
	// Alice logs out: her session becomes a marker, which is not owned.
	marker := store.Record{Expiry: c.Now().Add(time.Minute), Version: 2, Owner: "alice", Ended: store.Destroyed}
	if err := s.KV.Update(ctx, alice, 1, marker); err != nil {
		t.Fatal(err)
	}
	want(1, 1, 0)
	// A renewed session came back; a new one did not.
	renewed := newSession(c, "")
	renewed.Created = c.Now().Add(-time.Minute)
	if err := s.KV.Create(ctx, seqKey(groupOther, 2), renewed); err != nil {
		t.Fatal(err)
	}
	if err := s.KV.Create(ctx, seqKey(groupOther, 3), newSession(c, "")); err != nil {
		t.Fatal(err)
	}
	want(2, 2, 0)
	// The store is full: the next Create promotes the anonymous session that was read
	// and evicts the new one that was not.
	if err := s.KV.Create(ctx, seqKey(groupOther, 4), newSession(c, "bob")); err != nil {
		t.Fatal(err)
	}
	want(0, 3, 1)
	if _, found, _ := s.KV.Get(ctx, seqKey(groupOther, 3)); found {
		t.Error("the session that never came back survived; the one that did should be kept instead")
	}
	if _, found, _ := s.KV.Get(ctx, anon); !found {
		t.Error("the session that came back was evicted")
	}
	// A session written with an owner is owned.
	if err := s.KV.Update(ctx, anon, 1, newSession(c, "carol")); err != nil {
		t.Fatal(err)
	}
	want(0, 2, 2)
	// An expired record goes before any live one, whatever its tier.
	c.Add(time.Minute) // the marker expires
	if err := s.KV.Create(ctx, seqKey(groupOther, 5), newSession(c, "")); err != nil {
		t.Fatal(err)
	}
	want(1, 1, 2)
	for _, k := range []string{seqKey(groupOther, 2), anon, seqKey(groupOther, 4)} {
		if _, found, _ := s.KV.Get(ctx, k); !found {
			t.Errorf("a live session was evicted while an expired marker was held")
		}
	}
}

// TestFloodConcurrent floods from several goroutines while the protected sessions are
// used, written, renewed and deleted, for the race detector, for the bound with its
// slack (one record per Create in flight), and for the lists and counts once it stops.
func TestFloodConcurrent(t *testing.T) {
	const (
		max      = 1000
		flooders = 4
	)
	c := newClock()
	s := newStore(t, memstore.Options{Now: c.Now, MaxSessions: max})
	p := populate(t, s, c, max/10, max/10, comeBacks[0])
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range flooders {
		wg.Go(func() {
			for i := range 2 * max {
				r := newSession(c, "")
				if err := s.KV.Create(ctx, seqKey(groupFlood+byte(g)*8, i), r); err != nil {
					t.Error(err)
					return
				}
				if got := s.Len(); got > max+flooders {
					t.Errorf("Len = %d, want at most MaxSessions %d + %d Creates in flight", got, max, flooders)
					return
				}
			}
		})
	}
	// The owned sessions are used, written, and one in ten is ended by a marker; user1's
	// is left to DeleteOwned.
	var ended []string
	wg.Go(func() {
		for round := range 5 {
			for i, k := range p.owned {
				if i == 1 {
					continue
				}
				r, found, err := s.KV.Get(ctx, k)
				if err != nil || !found {
					t.Errorf("Get of an owned session = %v, %v, want found", found, err)
					return
				}
				s.KV.Touch(ctx, k, c.Now(), c.Now().Add(sessionTTL))
				v := r.Version
				r.Version++
				if round == 4 && i%10 == 0 {
					r = store.Record{Expiry: c.Now().Add(time.Minute), Version: r.Version, Owner: r.Owner, Ended: store.Renewed}
					ended = append(ended, k)
				}
				if err := s.KV.Update(ctx, k, v, r); err != nil {
					t.Errorf("Update of an owned session: %v", err)
					return
				}
			}
		}
	})
	// The returning ones are read; one in ten is deleted, and one owner logs out
	// everywhere.
	var deleted []string
	wg.Go(func() {
		for i, k := range p.returning {
			s.KV.Get(ctx, k)
			if i%10 == 0 {
				s.KV.Delete(ctx, k)
				deleted = append(deleted, k)
			}
		}
		s.DeleteOwned(ctx, "user1", "")
		s.DeleteExpired(ctx)
	})
	wg.Wait()
	if got := s.Len(); got > max {
		t.Errorf("Len = %d, want at most MaxSessions %d once no Create is in flight", got, max)
	}
	if err := s.CheckLists(); err != nil {
		t.Error(err)
	}
	wantOwned := len(p.owned) - len(ended) - 1 // user1 logged out
	if got := alive(t, s, p.owned); !atLeast(got, wantOwned, 99) {
		t.Errorf("owned sessions alive = %d, want at least 99%% of %d", got, wantOwned)
	}
	wantReturning := len(p.returning) - len(deleted)
	if got := alive(t, s, p.returning); !atLeast(got, wantReturning, 90) {
		t.Errorf("returning sessions alive = %d, want at least 90%% of %d", got, wantReturning)
	}
}

// TestFloodManager floods a Manager over a memstore as the issue did: anonymous
// requests that put something in a cart each get a session and never come back.
// Logged-in users and anonymous visitors who came back once keep theirs.
func TestFloodManager(t *testing.T) {
	const max = 1000
	c := newClock()
	st := newStore(t, memstore.Options{Now: c.Now, MaxSessions: max})
	type cart struct{ Items []string }
	sessions, err := typedsession.New[cart](st, typedsession.Options{Now: c.Now, IdleTimeout: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	add := func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Update(r.Context(), func(c *cart) error {
			c.Items = append(c.Items, "book")
			return nil
		}); err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.SetOwner(r.Context(), r.FormValue("user")); err != nil {
			t.Errorf("SetOwner: %v", err)
		}
		add(w, r)
	})
	mux.HandleFunc("POST /cart", add)
	mux.HandleFunc("GET /cart", func(w http.ResponseWriter, r *http.Request) {
		c, err := sessions.Get(r.Context())
		if err != nil {
			t.Errorf("Get: %v", err)
		}
		fmt.Fprint(w, len(c.Items))
	})
	h := sessions.Handler(mux)
	// do serves one request, a millisecond after the last, with the cookie ck if
	// not nil, and returns the cookie it sets, or ck, and the body.
	do := func(method, target string, ck *http.Cookie) (*http.Cookie, string) {
		t.Helper()
		c.Add(time.Millisecond)
		req := httptest.NewRequestWithContext(t.Context(), method, "https://example.com"+target, nil)
		if ck != nil {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %s: status %d, %s", method, target, rec.Code, rec.Body)
		}
		for _, set := range rec.Result().Cookies() {
			ck = set
		}
		return ck, rec.Body.String()
	}
	var users, carts []*http.Cookie
	for i := range max / 10 {
		ck, _ := do("POST", fmt.Sprint("/login?user=user", i), nil)
		users = append(users, ck)
	}
	for range max / 10 {
		ck, _ := do("POST", "/cart", nil)
		ck, _ = do("GET", "/cart", ck) // comes back
		carts = append(carts, ck)
	}
	for range 10 * max {
		do("POST", "/cart", nil)
		if got := st.Len(); got > max {
			t.Fatalf("Len = %d, want at most MaxSessions %d", got, max)
		}
	}
	count := func(cks []*http.Cookie) int {
		n := 0
		for _, ck := range cks {
			if _, body := do("GET", "/cart", ck); body == "1" {
				n++
			}
		}
		return n
	}
	gotUsers, gotCarts := count(users), count(carts)
	t.Logf("after a flood of %d requests: logged-in sessions alive %d/%d, returning carts alive %d/%d", 10*max, gotUsers, len(users), gotCarts, len(carts))
	if !atLeast(gotUsers, len(users), 99) {
		t.Errorf("logged-in sessions alive = %d of %d, want at least 99%%", gotUsers, len(users))
	}
	if !atLeast(gotCarts, len(carts), 90) {
		t.Errorf("returning carts alive = %d of %d, want at least 90%%", gotCarts, len(carts))
	}
}

// BenchmarkFlood measures a Create during a flood: on a full store of MaxSessions
// 10 000, a tenth owned sessions and a tenth anonymous ones that came back, the rest
// anonymous ones that never come back, each Create evicts a record. The key is built
// in the loop (one allocation of 32 bytes).
func BenchmarkFlood(b *testing.B) {
	const max = 10_000
	ctx := b.Context()
	s := newStore(b, memstore.Options{MaxSessions: max})
	now := time.Now()
	rec := store.Record{Data: payload, Expiry: now.Add(time.Hour), Created: now, Active: now, Version: 1}
	for i := range max {
		r, k := rec, seqKey(groupFlood, i)
		switch {
		case i < max/10:
			r.Owner, k = fmt.Sprint("user", i), seqKey(groupOwned, i)
		case i < max/5:
			k = seqKey(groupReturning, i)
		}
		if err := s.KV.Create(ctx, k, r); err != nil {
			b.Fatal(err)
		}
		if k[1] == groupReturning {
			s.KV.Get(ctx, k)
		}
	}
	b.ReportAllocs()
	i := max
	for b.Loop() {
		if err := s.KV.Create(ctx, seqKey(groupFlood, i), rec); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if n := s.Len(); n > max {
		b.Fatalf("Len = %d, over MaxSessions %d", n, max)
	}
}
