package redisstore_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// TestCache checks client-side caching by counting the bytes the client sends through a
// proxy: a read of an unchanged session sends nothing; a write through another client
// reaches the cached reader (eventually); a stale cached read never makes an Update
// succeed; the cache is dropped when the connection is lost.
func TestCache(t *testing.T) {
	t.Parallel()
	p := testenv.NewProxy(t, redisAddr())
	// No background PING (it would be counted): Dialer.KeepAlive is the ping gap.
	cc := dial(t, rueidis.ClientOption{
		InitAddress: []string{p.Addr()},
		Dialer:      net.Dialer{KeepAlive: time.Hour},
	})
	direct := dial(t, rueidis.ClientOption{})
	prefix := uniquePrefix(t, direct)
	cached := mustNew(t, cc, redisstore.Options{Prefix: prefix, CacheTTL: time.Minute}).KV
	other := mustNew(t, direct, redisstore.Options{Prefix: prefix}).KV
	ctx := t.Context()

	key := newKey()
	rec := record(1, "", "v1")
	if err := other.Create(ctx, key, rec); err != nil {
		t.Fatal(err)
	}
	first := mustGet(t, cached, key) // a miss: fills the cache
	before := p.Sent()
	for range 10 {
		if got := mustGet(t, cached, key); !equal(got, rec) {
			t.Fatalf("cached Get() = %+v, want %+v", got, rec)
		}
	}
	if sent := p.Sent() - before; sent != 0 {
		t.Errorf("10 cached reads of an unchanged session sent %d bytes to Redis, want 0", sent)
	}

	// The caller owns the Data it gets: changing it does not change the cache.
	first.Data[0] = 'X'
	if got := mustGet(t, cached, key); string(got.Data) != "v1" {
		t.Errorf("after the caller changed its copy, cached Get().Data = %q, want %q", got.Data, "v1")
	}

	// A write through another client: the cached Get sees it once the invalidation
	// arrives. Meanwhile, an Update from the stale read is refused.
	if err := other.Update(ctx, key, 1, record(2, "", "v2")); err != nil {
		t.Fatal(err)
	}
	if err := cached.Update(ctx, key, 1, record(2, "", "lost")); !errors.Is(err, typedsession.ErrConflict) {
		t.Errorf("Update() from a stale version = %v, want ErrConflict", err)
	}
	if got := eventually(t, cached, key, func(r store.Record) bool { return r.Version == 2 }); string(got.Data) != "v2" {
		t.Errorf("cached Get() after another client's Update = %q (version %d), want v2", got.Data, got.Version)
	}

	// Touch and Delete through another client invalidate too.
	exp := time.Now().Add(3 * time.Hour).Truncate(time.Millisecond)
	if err := other.Touch(ctx, key, time.Now(), exp); err != nil {
		t.Fatal(err)
	}
	eventually(t, cached, key, func(r store.Record) bool { return r.Expiry.Equal(exp) })
	if got := mustGet(t, cached, key); !got.Expiry.Equal(exp) {
		t.Errorf("cached Get().Expiry = %v after another client's Touch, want %v", got.Expiry, exp)
	}
	if err := other.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	eventuallyMissing(t, cached, key)

	// Lost connection: the cache is dropped, so a Get is an error, never a cached
	// value that nobody can invalidate any more.
	key2 := newKey()
	if err := other.Create(ctx, key2, rec); err != nil {
		t.Fatal(err)
	}
	mustGet(t, cached, key2)
	mustGet(t, cached, key2)
	p.Cut()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tctx, cancel := contextTimeout(t, 200*time.Millisecond)
		_, found, err := cached.Get(tctx, key2)
		cancel()
		if err != nil && !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("during an outage, cached Get() = found %v, err %v; want an error once the connection is lost", found, err)
		}
		time.Sleep(time.Millisecond)
	}
	p.Restore()
	if got := waitFound(t, cached, key2); !equal(got, rec) {
		t.Errorf("after the outage, Get() = %+v, want %+v", got, rec)
	}
}
