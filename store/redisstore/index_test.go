package redisstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// countingClient counts the commands a rueidis client sends and the round trips it
// makes (a DoMulti pipeline is one; on a cluster its slots go to their nodes in
// parallel).
type countingClient struct {
	rueidis.Client
	cmds, trips atomic.Int64
}

func (c *countingClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.cmds.Add(1)
	c.trips.Add(1)
	return c.Client.Do(ctx, cmd)
}

func (c *countingClient) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	c.cmds.Add(int64(len(multi)))
	c.trips.Add(1)
	return c.Client.DoMulti(ctx, multi...)
}

func (c *countingClient) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	c.cmds.Add(1)
	c.trips.Add(1)
	return c.Client.DoCache(ctx, cmd, ttl)
}

// hookClient runs a hook once, after the first round trip the client makes once armed:
// a test orders another client's operation between two round trips of a store
// operation without sleeping.
type hookClient struct {
	rueidis.Client
	mu   sync.Mutex
	hook func()
}

func (c *hookClient) arm(hook func()) {
	c.mu.Lock()
	c.hook = hook
	c.mu.Unlock()
}

func (c *hookClient) fire() {
	c.mu.Lock()
	hook := c.hook
	c.hook = nil
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (c *hookClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	defer c.fire()
	return c.Client.Do(ctx, cmd)
}

func (c *hookClient) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	defer c.fire()
	return c.Client.DoMulti(ctx, multi...)
}

// ownedProfile is the session of the owner index tests.
type ownedProfile struct {
	Name string
	N    int
}

// uniqueOwner returns an owner name no other test uses.
func uniqueOwner(name string) string { return name + "-" + hex.EncodeToString([]byte(newKey()[:6])) }

// TestEndRace runs a log-out-everywhere in the middle of an end (Renew, Destroy) that
// loses its compare-and-swap to another request's change: the session is live, so the
// revocation must find it and delete it. A session that left its owner's index before
// its end was written could be missed, and live on after "log out everywhere".
func TestEndRace(t *testing.T) {
	t.Parallel()
	testEndRace(t, dial(t, rueidis.ClientOption{}))
}

func testEndRace(t *testing.T, c rueidis.Client) {
	for _, why := range []store.EndReason{store.Renewed, store.Destroyed} {
		t.Run(why.String(), func(t *testing.T) {
			hc := &hookClient{Client: c}
			prefix := uniquePrefix(t, c)
			ending := mustNew(t, hc, redisstore.Options{Prefix: prefix}).KV
			other := mustNew(t, c, redisstore.Options{Prefix: prefix}).KV.(store.OwnerKV)
			ctx, owner, key := t.Context(), uniqueOwner("race"), newKey()
			if err := other.Create(ctx, key, record(1, owner, "v1")); err != nil {
				t.Fatal(err)
			}
			// Another request changes the session after this one read version 1.
			if err := other.Update(ctx, key, 1, record(2, owner, "v2")); err != nil {
				t.Fatal(err)
			}
			var deleted []string
			var err error
			fired := false
			hc.arm(func() {
				fired = true
				deleted, err = other.DeleteOwned(ctx, owner, "")
			})
			marker := store.Record{Expiry: time.Now().Add(time.Minute), Version: 2, Owner: owner, Ended: why}
			if err := ending.Update(ctx, key, 1, marker); !errors.Is(err, typedsession.ErrConflict) {
				t.Fatalf("Update(stale version, marker) = %v, want ErrConflict", err)
			}
			if !fired {
				t.Fatal("the hook did not run")
			}
			if err != nil || len(deleted) != 1 {
				t.Errorf("DeleteOwned() during a failed %s deleted %d, %v; want 1: the session was live, and is missed", why, len(deleted), err)
			}
			if rec, found, err := other.Get(ctx, key); found || err != nil {
				t.Errorf("after DeleteOwned, Get() = %+v, %v, %v; want the session gone", rec, found, err)
			}
		})
	}
}

// TestOwnerIndexBounded checks that an owner's index holds its live sessions only,
// after 500 logins that expired and 1 000 renews of one session, and that the hot path
// of an owned session stays one round trip per store call.
func TestOwnerIndexBounded(t *testing.T) {
	t.Parallel()
	testOwnerIndexBounded(t, dial(t, rueidis.ClientOption{}))
}

func testOwnerIndexBounded(t *testing.T, c rueidis.Client) {
	cc := &countingClient{Client: c}
	st := mustNew(t, cc, redisstore.Options{Prefix: uniquePrefix(t, c)})
	ctx, owner := t.Context(), uniqueOwner("bounded")
	login := func(lifetime time.Duration) string {
		t.Helper()
		now := time.Now()
		token, err := st.Save(ctx, "", 0, store.Record{Data: []byte("{}"), Created: now, Expiry: now.Add(lifetime), Version: 1, Owner: owner})
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		return token
	}

	// The store calls the Manager makes: 500 logins that expire in half a second, left
	// to expire; three sessions on other devices; one that renews 1000 times (its
	// record ended by a marker at the version read, a new session created).
	const short = 500 * time.Millisecond
	for range 500 {
		login(short)
	}
	time.Sleep(short + 10*time.Millisecond) // real time: Redis expires the sessions
	live := map[string]bool{}
	for range 3 {
		live[storeKey(login(time.Hour))] = true
	}
	token := login(time.Hour)
	for range 1000 {
		marker := store.Record{Expiry: time.Now().Add(time.Minute), Version: 2, Owner: owner, Ended: store.Renewed}
		if _, err := st.Save(ctx, token, 1, marker); err != nil {
			t.Fatalf("renew: end the old session: %v", err)
		}
		token = login(time.Hour)
	}
	live[storeKey(token)] = true

	// The index holds the four live sessions and nothing else: no marker of a renewed
	// session, no expired login.
	members, err := c.Do(ctx, c.B().Zrange().Key(redisstore.PrefixOf(st)+"owner:"+owner).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	stray := 0
	for _, m := range members {
		if !live[m] {
			stray++
		}
	}
	if len(members) != len(live) || stray != 0 {
		t.Errorf("after 500 expired logins and 1000 renews, the owner's index holds %d members, %d of them not live sessions; want the %d live sessions, and only them",
			len(members), stray, len(live))
	}
	if owned, err := st.Owned(ctx, owner); err != nil || len(owned) != len(live) {
		t.Errorf("Owned() = %d sessions, %v; want %d", len(owned), err, len(live))
	}

	// The hot path of an owned session, through a Manager: a read is one round trip
	// (GET); a write is two, the read and one pipeline (the update script and the
	// index script, to their two nodes in parallel on a cluster).
	m, err := typedsession.New[ownedProfile](st, typedsession.Options{Insecure: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if m.Put(r.Context(), ownedProfile{Name: owner}) == nil && m.SetOwner(r.Context(), owner) == nil {
			fmt.Fprint(w, "ok")
		}
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		if p, err := m.Get(r.Context()); err == nil {
			fmt.Fprint(w, p.N)
		}
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if m.Update(r.Context(), func(p *ownedProfile) error { p.N++; n = p.N; return nil }) == nil {
			fmt.Fprint(w, n)
		}
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, tc := range []struct {
		method, path string
		trips, cmds  int64
		what         string
	}{
		{"POST", "/login", -1, -1, ""},
		{"GET", "/read", 1, 1, "GET"},
		{"POST", "/incr", 2, 3, "GET, then the update script and the index script in one pipeline"},
	} {
		trips, cmds := cc.trips.Load(), cc.cmds.Load()
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s = %d %q", tc.method, tc.path, resp.StatusCode, body)
		}
		if dt, dc := cc.trips.Load()-trips, cc.cmds.Load()-cmds; tc.trips >= 0 && (dt != tc.trips || dc != tc.cmds) {
			t.Errorf("%s of an owned session: %d round trips, %d commands; want %d and %d (%s)", tc.path, dt, dc, tc.trips, tc.cmds, tc.what)
		}
	}
}

// storeKey returns the KV key of a token, as store.KVStore computes it: its SHA-256.
func storeKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return string(sum[:])
}

// format1 returns rec in the binary format of the first release (store.RecordFormatV1):
// the layout of format 2 without Active and Ended.
func format1(rec store.Record) []byte {
	b := []byte{store.RecordFormatV1}
	b = binary.BigEndian.AppendUint64(b, rec.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(rec.Expiry.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(rec.Created.UnixMilli()))
	var flags byte
	if rec.RememberMe {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(rec.Owner)))
	b = append(b, rec.Owner...)
	return append(b, rec.Data...)
}

// TestFormat1 loads what the first release left in Redis: records in format 1, and the
// owner's index as a plain set (SADD) expiring with its latest session. They load;
// Touch rewrites a record in format 2 with Active set; the index becomes a sorted set
// on its first write or listing, and log out everywhere finds the old sessions.
func TestFormat1(t *testing.T) {
	t.Parallel()
	// The layout, pinned by bytes written by hand.
	golden, _ := hex.DecodeString("01" + "0000000000000007" + "000001d1a94a2000" + "000001d1a93addc0" + "01" + "02" + "616c" + "7879")
	rec := store.Record{
		Version: 7, Expiry: time.UnixMilli(2_000_000_000_000), Created: time.UnixMilli(1_999_999_000_000),
		RememberMe: true, Owner: "al", Data: []byte("xy"),
	}
	if got := format1(rec); !bytes.Equal(got, golden) {
		t.Fatalf("format1() = %x, want %x", got, golden)
	}
	var dec store.Record
	if err := dec.UnmarshalBinary(golden); err != nil || !equal(dec, rec) {
		t.Fatalf("UnmarshalBinary(format 1) = %+v, %v; want %+v", dec, err, rec)
	}

	s, c := newStore(t, redisstore.Options{})
	kv := s.KV.(store.OwnerKV)
	ctx, prefix, owner := t.Context(), redisstore.PrefixOf(s), uniqueOwner("v1")
	now := time.Now().Truncate(time.Millisecond)
	keys := []string{newKey(), newKey(), newKey()}
	var recs []store.Record
	for i, key := range keys {
		r := store.Record{
			Data: fmt.Appendf(nil, "legacy %d", i), Expiry: now.Add(time.Hour), Created: now.Add(-time.Hour),
			Version: uint64(5 + i), Owner: owner, RememberMe: i == 0,
		}
		recs = append(recs, r)
		set := c.B().Set().Key(prefix + key).Value(rueidis.BinaryString(format1(r))).PxatMillisecondsTimestamp(r.Expiry.UnixMilli()).Build()
		if err := c.Do(ctx, set).Error(); err != nil {
			t.Fatal(err)
		}
	}
	setKey := prefix + "owner:" + owner
	for _, cmd := range []rueidis.Completed{
		c.B().Sadd().Key(setKey).Member(keys...).Build(),
		c.B().Pexpireat().Key(setKey).MillisecondsTimestamp(now.Add(time.Hour).UnixMilli()).Build(),
	} {
		if err := c.Do(ctx, cmd).Error(); err != nil {
			t.Fatal(err)
		}
	}

	for i, key := range keys {
		if got := mustGet(t, kv, key); !equal(got, recs[i]) {
			t.Errorf("Get(format 1) = %+v, want %+v", got, recs[i])
		}
	}
	// Touch rewrites the record in format 2, with Active; nothing else changes.
	active, expiry := now.Add(time.Minute), now.Add(2*time.Hour)
	if err := kv.Touch(ctx, keys[0], active, expiry); err != nil {
		t.Fatalf("Touch(format 1) = %v", err)
	}
	raw, err := c.Do(ctx, c.B().Get().Key(prefix+keys[0]).Build()).AsBytes()
	if err != nil || len(raw) == 0 || raw[0] != store.RecordFormat {
		t.Fatalf("after Touch, the stored record is %x, %v; want format %d", raw, err, store.RecordFormat)
	}
	want := recs[0]
	want.Active, want.Expiry = active, expiry
	if got := mustGet(t, kv, keys[0]); !equal(got, want) {
		t.Errorf("after Touch, Get() = %+v, want %+v", got, want)
	}
	// The Touch indexed the session: the plain set became a sorted set.
	if typ, _ := c.Do(ctx, c.B().Type().Key(setKey).Build()).ToString(); typ != "zset" {
		t.Errorf("after Touch, the owner's index is a %s, want a zset", typ)
	}
	// An Update of a format-1 record compares its version in place.
	next := recs[1]
	next.Version, next.Data = 9, []byte("changed")
	if err := kv.Update(ctx, keys[1], recs[1].Version, next); err != nil {
		t.Errorf("Update(format 1) = %v", err)
	}
	if got := mustGet(t, kv, keys[1]); !equal(got, next) {
		t.Errorf("after Update, Get() = %+v, want %+v", got, next)
	}
	// A new session of the owner joins the same index; all four are listed and ended.
	fresh := newKey()
	if err := kv.Create(ctx, fresh, record(1, owner, "new")); err != nil {
		t.Fatalf("Create() for an owner indexed by the first release = %v", err)
	}
	if m, err := kv.Owned(ctx, owner); err != nil || len(m) != 4 {
		t.Errorf("Owned() = %d sessions, %v; want 4", len(m), err)
	}
	if deleted, err := kv.DeleteOwned(ctx, owner, ""); err != nil || len(deleted) != 4 {
		t.Errorf("DeleteOwned() deleted %d, %v; want 4", len(deleted), err)
	}

	// Listing alone upgrades a set too.
	other := uniqueOwner("v1-list")
	otherKey := newKey()
	r := recs[2]
	r.Owner = other
	if err := c.Do(ctx, c.B().Set().Key(prefix+otherKey).Value(rueidis.BinaryString(format1(r))).PxatMillisecondsTimestamp(r.Expiry.UnixMilli()).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Sadd().Key(prefix+"owner:"+other).Member(otherKey).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if m, err := kv.Owned(ctx, other); err != nil || len(m) != 1 {
		t.Errorf("Owned() of an owner indexed by a plain set = %d sessions, %v; want 1", len(m), err)
	}
}
