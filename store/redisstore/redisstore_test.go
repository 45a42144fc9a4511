package redisstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/redisstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

func record(version uint64, owner, data string) store.Record {
	now := time.Now().Truncate(time.Millisecond)
	return store.Record{
		Data:       []byte(data),
		Expiry:     now.Add(time.Hour),
		Created:    now,
		Version:    version,
		Owner:      owner,
		RememberMe: true,
	}
}

func equal(a, b store.Record) bool { return storetest.Diff(a, b) == "" }

func mustGet(t *testing.T, kv store.KV, key string) store.Record {
	t.Helper()
	rec, found, err := kv.Get(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Get() = found %v, err %v; want the record", found, err)
	}
	return rec
}

func mustMissing(t *testing.T, kv store.KV, key string) {
	t.Helper()
	if rec, found, err := kv.Get(t.Context(), key); err != nil || found {
		t.Fatalf("Get() = %+v, found %v, err %v; want not found", rec, found, err)
	}
}

// TestKVRedis checks what is particular to Redis: the key layout, absolute expiry in
// Redis itself, the version compare-and-swap and touch on the stored bytes.
func TestKVRedis(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t, cfg.opts)
			testKVRedis(t, s, c)
		})
	}
}

func testKVRedis(t *testing.T, s *redisstore.Store, c rueidis.Client) {
	kv := s.KV
	ctx := t.Context()
	key := newKey()
	rec := record(1, "", "hello")
	if err := kv.Create(ctx, key, rec); err != nil {
		t.Fatalf("Create() = %v", err)
	}
	if got := mustGet(t, kv, key); !equal(got, rec) {
		t.Errorf("Get() = %+v, want %+v", got, rec)
	}

	// The key is the prefix and the raw 32-byte key; Redis expires it at the
	// record's Expiry, to the millisecond.
	prefix := redisstore.PrefixOf(s)
	pxat, err := c.Do(ctx, c.B().Pexpiretime().Key(prefix+key).Build()).AsInt64()
	if err != nil || pxat != rec.Expiry.UnixMilli() {
		t.Errorf("PEXPIRETIME = %d, %v; want %d (the record's Expiry)", pxat, err, rec.Expiry.UnixMilli())
	}

	if err := kv.Create(ctx, key, record(7, "", "other")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Create() over a live record = %v, want ErrConflict", err)
	}
	if got := mustGet(t, kv, key); !equal(got, rec) {
		t.Errorf("after a refused Create, Get() = %+v, want the original", got)
	}

	// A stale version is refused and changes nothing.
	if err := kv.Update(ctx, key, 0, record(9, "", "stale")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update(stale version) = %v, want ErrConflict", err)
	}
	next := record(2, "", "world")
	next.Expiry = rec.Expiry.Add(time.Hour)
	if err := kv.Update(ctx, key, 1, next); err != nil {
		t.Fatalf("Update(current version) = %v", err)
	}
	if got := eventually(t, kv, key, func(r store.Record) bool { return r.Version == 2 }); !equal(got, next) {
		t.Errorf("after Update, Get() = %+v, want %+v", got, next)
	}
	pxat, _ = c.Do(ctx, c.B().Pexpiretime().Key(prefix+key).Build()).AsInt64()
	if pxat != next.Expiry.UnixMilli() {
		t.Errorf("after Update, PEXPIRETIME = %d, want %d", pxat, next.Expiry.UnixMilli())
	}

	// Touch changes the last activity and the expiry, in Redis and in the record, and
	// nothing else.
	touched, active := next.Expiry.Add(time.Hour), next.Created.Add(time.Second)
	if err := kv.Touch(ctx, key, active, touched); err != nil {
		t.Fatalf("Touch() = %v", err)
	}
	want := next
	want.Active, want.Expiry = active, touched
	if got := eventually(t, kv, key, func(r store.Record) bool { return r.Expiry.Equal(touched) }); !equal(got, want) {
		t.Errorf("after Touch, Get() = %+v, want %+v", got, want)
	}
	pxat, _ = c.Do(ctx, c.B().Pexpiretime().Key(prefix+key).Build()).AsInt64()
	if pxat != touched.UnixMilli() {
		t.Errorf("after Touch, PEXPIRETIME = %d, want %d", pxat, touched.UnixMilli())
	}

	if err := kv.Delete(ctx, key); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	eventuallyMissing(t, kv, key)
	if err := kv.Delete(ctx, key); err != nil {
		t.Errorf("Delete() of a missing key = %v, want nil", err)
	}
	// Late writes never bring a deleted session back.
	if err := kv.Update(ctx, key, 2, record(3, "", "late")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update() after Delete = %v, want ErrConflict", err)
	}
	if err := kv.Touch(ctx, key, active, touched); err != nil {
		t.Errorf("Touch() after Delete = %v, want nil", err)
	}
	if n, _ := c.Do(ctx, c.B().Exists().Key(prefix+key).Build()).AsInt64(); n != 0 {
		t.Errorf("after a late Update and Touch, EXISTS = %d, want 0", n)
	}
}

// eventually polls Get until ok holds (a cached Get sees a write once its invalidation
// arrives) and returns the record.
func eventually(t *testing.T, kv store.KV, key string, ok func(store.Record) bool) store.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec := mustGet(t, kv, key)
		if ok(rec) || time.Now().After(deadline) {
			return rec
		}
		time.Sleep(time.Millisecond)
	}
}

func eventuallyMissing(t *testing.T, kv store.KV, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, found, err := kv.Get(t.Context(), key)
		if err != nil {
			t.Fatalf("Get() = %v", err)
		}
		if !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get() still finds a deleted record")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestExpiry checks that an expired record is gone, and that a record created already
// expired is never stored.
func TestExpiry(t *testing.T) {
	t.Parallel()
	s, c := newStore(t, redisstore.Options{})
	kv, ctx := s.KV, t.Context()

	past := record(1, "", "x")
	past.Expiry = time.Now().Add(-time.Second).Truncate(time.Millisecond)
	key := newKey()
	if err := kv.Create(ctx, key, past); err != nil {
		t.Fatalf("Create(expired) = %v", err)
	}
	mustMissing(t, kv, key)
	zero := record(1, "", "x")
	zero.Expiry = time.Time{}
	if err := kv.Create(ctx, newKey(), zero); err != nil {
		t.Fatalf("Create(zero Expiry) = %v", err)
	}

	soon := record(1, "", "x")
	soon.Expiry = time.Now().Add(100 * time.Millisecond).Truncate(time.Millisecond)
	key = newKey()
	if err := kv.Create(ctx, key, soon); err != nil {
		t.Fatalf("Create() = %v", err)
	}
	time.Sleep(time.Until(soon.Expiry) + 10*time.Millisecond)
	mustMissing(t, kv, key)
	if err := kv.Update(ctx, key, 1, record(2, "", "y")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update() of an expired record = %v, want ErrConflict", err)
	}
	if err := kv.Touch(ctx, key, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch() of an expired record = %v", err)
	}
	mustMissing(t, kv, key)
	if n := dbKeys(t, c, s); n != 0 {
		t.Errorf("%d keys left under the prefix, want 0: expired records must not be stored", n)
	}
}

// dbKeys counts the keys under the store's prefix, on every master.
func dbKeys(t *testing.T, c rueidis.Client, s *redisstore.Store) int {
	t.Helper()
	n := 0
	for _, node := range c.Nodes() {
		keys, err := node.Do(t.Context(), node.B().Keys().Pattern(redisstore.PrefixOf(s)+"*").Build()).AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		n += len(keys)
	}
	return n
}

// TestErrors checks that a failure is an error and never "not found": a closed client,
// a cancelled context, a server that went away (the bug of a well-known peer whose
// rueidis store reports "found, empty" on a network error).
func TestErrors(t *testing.T) {
	t.Parallel()
	p := testenv.NewProxy(t, redisAddr())
	c := dial(t, rueidis.ClientOption{InitAddress: []string{p.Addr()}, DisableRetry: true})
	s := mustNew(t, c, redisstore.Options{Prefix: uniquePrefix(t, c)})
	kv := s.KV
	key := newKey()
	if err := kv.Create(t.Context(), key, record(1, "u", "data")); err != nil {
		t.Fatal(err)
	}
	token := base64.RawURLEncoding.EncodeToString([]byte(storetest.NewKey())) // well formed, never issued

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	checkAll(t, "cancelled context", cancelled, s, key, token)

	p.Cut()
	checkAll(t, "server unreachable", t.Context(), s, key, token)
	p.Restore()
	waitFound(t, kv, key)

	closed := dial(t, rueidis.ClientOption{})
	cs := mustNew(t, closed, redisstore.Options{Prefix: redisstore.PrefixOf(s)})
	closed.Close()
	checkAll(t, "closed client", t.Context(), cs, key, token)
}

func checkAll(t *testing.T, what string, ctx context.Context, s *redisstore.Store, key, token string) {
	t.Helper()
	kv := s.KV.(store.OwnerKV)
	rec, found, err := kv.Get(ctx, key)
	if err == nil || found || rec.Data != nil {
		t.Errorf("%s: Get() = %+v, found %v, err %v; want an error", what, rec, found, err)
	}
	if _, found, err := s.Load(ctx, token); err == nil || found {
		t.Errorf("%s: Load() = found %v, err %v; want an error", what, found, err)
	}
	for name, err := range map[string]error{
		"Create": kv.Create(ctx, newKey(), record(1, "", "x")),
		"Update": kv.Update(ctx, key, 1, record(2, "", "x")),
		"Touch":  kv.Touch(ctx, key, time.Now(), time.Now().Add(time.Hour)),
		"Delete": kv.Delete(ctx, key),
	} {
		if err == nil || errors.Is(err, typedsession.ErrConflict) {
			t.Errorf("%s: %s() = %v; want an error that is not ErrConflict", what, name, err)
		}
	}
	if m, err := kv.Owned(ctx, "u"); err == nil {
		t.Errorf("%s: Owned() = %v, nil; want an error", what, m)
	}
	if n, err := kv.DeleteOwned(ctx, "u", ""); err == nil {
		t.Errorf("%s: DeleteOwned() = %x, nil; want an error", what, n)
	}
}

// TestOwner checks the owner index: sets only for owned records, kept alive as long as
// the sessions, cleaned of stale members, never trusted over the record itself.
func TestOwner(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t, cfg.opts)
			testOwner(t, s, c)
		})
	}
}

func testOwner(t *testing.T, s *redisstore.Store, c rueidis.Client) {
	kv := s.KV.(store.OwnerKV)
	ctx := t.Context()
	setKey := redisstore.PrefixOf(s) + "owner:alice"

	keys := make([]string, 3)
	var lastExpiry time.Time
	for i := range keys {
		keys[i] = newKey()
		rec := record(1, "alice", fmt.Sprint(i))
		rec.Expiry = rec.Expiry.Add(time.Duration(i) * time.Minute)
		if err := kv.Create(ctx, keys[i], rec); err != nil {
			t.Fatal(err)
		}
		lastExpiry = rec.Expiry
	}
	bob := newKey()
	if err := kv.Create(ctx, bob, record(1, "bob", "b")); err != nil {
		t.Fatal(err)
	}
	anon := newKey()
	if err := kv.Create(ctx, anon, record(1, "", "a")); err != nil {
		t.Fatal(err)
	}
	// A refused Create of alice's key by a record of carol must not make it carol's.
	if err := kv.Create(ctx, keys[0], record(1, "carol", "c")); !errors.Is(err, typedsession.ErrConflict) {
		t.Fatalf("Create() over a live record = %v, want ErrConflict", err)
	}
	if m, err := kv.Owned(ctx, "carol"); err != nil || len(m) != 0 {
		t.Errorf("Owned(carol) = %v, %v; want none", m, err)
	}
	if n, err := kv.DeleteOwned(ctx, "carol", ""); err != nil || len(n) != 0 {
		t.Errorf("DeleteOwned(carol) = %x, %v; want none", n, err)
	}
	mustGet(t, kv, keys[0])

	if n := dbKeys(t, c, s); n != 3+1+1+2 {
		t.Errorf("%d keys under the prefix, want 7: 5 sessions and the sets of alice and bob only", n)
	}
	pxat := func() int64 {
		v, err := c.Do(ctx, c.B().Pexpiretime().Key(setKey).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := pxat(); got != lastExpiry.UnixMilli() {
		t.Errorf("owner set expires at %d, want %d (the latest session's expiry)", got, lastExpiry.UnixMilli())
	}
	// Touch and Update extend the set with the session, never shorten it.
	later := lastExpiry.Add(time.Hour)
	if err := kv.Touch(ctx, keys[0], time.Now(), later); err != nil {
		t.Fatal(err)
	}
	if got := pxat(); got != later.UnixMilli() {
		t.Errorf("after Touch, owner set expires at %d, want %d", got, later.UnixMilli())
	}
	upd := record(2, "alice", "new")
	upd.Expiry = later.Add(time.Hour)
	if err := kv.Update(ctx, keys[1], 1, upd); err != nil {
		t.Fatal(err)
	}
	if got := pxat(); got != upd.Expiry.UnixMilli() {
		t.Errorf("after Update, owner set expires at %d, want %d", got, upd.Expiry.UnixMilli())
	}
	if err := kv.Touch(ctx, keys[2], time.Now(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := pxat(); got != upd.Expiry.UnixMilli() {
		t.Errorf("a Touch to an earlier time moved the owner set's expiry to %d", got)
	}

	m, err := kv.Owned(ctx, "alice")
	if err != nil || len(m) != 3 {
		t.Fatalf("Owned(alice) = %d records, %v; want 3", len(m), err)
	}
	if !equal(m[keys[1]], upd) {
		t.Errorf("Owned(alice)[1] = %+v, want %+v", m[keys[1]], upd)
	}

	// Delete unindexes; a member whose record vanished another way is cleaned.
	if err := kv.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	c.Do(ctx, c.B().Del().Key(redisstore.PrefixOf(s)+keys[1]).Build())
	if m, err := kv.Owned(ctx, "alice"); err != nil || len(m) != 1 {
		t.Errorf("Owned(alice) = %d records, %v; want 1", len(m), err)
	}
	if n, _ := c.Do(ctx, c.B().Zcard().Key(setKey).Build()).AsInt64(); n != 1 {
		t.Errorf("owner set has %d members after Owned, want 1 (stale members removed)", n)
	}

	// DeleteOwned spares except and other owners, and a late Update cannot resurrect.
	more := newKey()
	if err := kv.Create(ctx, more, record(1, "alice", "m")); err != nil {
		t.Fatal(err)
	}
	if n, err := kv.DeleteOwned(ctx, "alice", more); err != nil || len(n) != 1 {
		t.Errorf("DeleteOwned(alice, except) = %x, %v; want 1 key", n, err)
	}
	mustMissing(t, kv, keys[2])
	mustGet(t, kv, more)
	mustGet(t, kv, bob)
	mustGet(t, kv, anon)
	if err := kv.Update(ctx, keys[2], 1, record(2, "alice", "late")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update() after DeleteOwned = %v, want ErrConflict", err)
	}
	if n, err := kv.DeleteOwned(ctx, "alice", ""); err != nil || len(n) != 1 {
		t.Errorf("DeleteOwned(alice) = %x, %v; want 1 key", n, err)
	}
	if m, err := kv.Owned(ctx, "alice"); err != nil || len(m) != 0 {
		t.Errorf("after DeleteOwned, Owned(alice) = %v, %v; want none", m, err)
	}
}

// TestConcurrentUpdates runs 50 read-modify-write loops on one record, as the Manager
// does, and checks that none is lost.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, cfg.opts)
			increments(t, s.KV, 50)
		})
	}
}

// increments creates a record and has n goroutines each add 1 to its version through a
// Get and an Update, retried on conflict, then checks the version is n.
func increments(t *testing.T, kv store.KV, n int) {
	t.Helper()
	ctx := t.Context()
	key := newKey()
	if err := kv.Create(ctx, key, record(0, "", "0")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				rec, found, err := kv.Get(ctx, key)
				if err != nil || !found {
					t.Errorf("Get() = found %v, %v", found, err)
					return
				}
				next := rec
				next.Version++
				next.Data = fmt.Appendf(nil, "%d", next.Version)
				err = kv.Update(ctx, key, rec.Version, next)
				if errors.Is(err, typedsession.ErrConflict) {
					continue
				}
				if err != nil {
					t.Errorf("Update() = %v", err)
				}
				return
			}
		})
	}
	wg.Wait()
	rec := eventually(t, kv, key, func(r store.Record) bool { return r.Version == uint64(n) })
	if rec.Version != uint64(n) || string(rec.Data) != fmt.Sprint(n) {
		t.Errorf("after %d concurrent increments, version %d data %q; want %d", n, rec.Version, rec.Data, n)
	}
}
