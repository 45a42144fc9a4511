package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/redisstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// redisAddr is the Redis the tests use: REDIS_ADDR, or 127.0.0.1:6379.
func redisAddr() string { return testenv.Getenv("REDIS_ADDR", "127.0.0.1:6379") }

// dial connects a rueidis client to addrs and pings it. It ends the test through
// testenv.Unavailable if the server cannot be reached, and closes the client on cleanup.
func dial(t testing.TB, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	if len(opt.InitAddress) == 0 {
		opt.InitAddress = []string{redisAddr()}
	}
	c, err := rueidis.NewClient(opt)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = c.Do(ctx, c.B().Ping().Build()).Error()
		cancel()
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		testenv.Unavailable(t, "Redis at "+opt.InitAddress[0], err)
	}
	t.Cleanup(c.Close)
	return c
}

// uniquePrefix returns a key prefix no other test uses, and removes every key under it
// when the test ends.
func uniquePrefix(t testing.TB, c rueidis.Client) string {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "redisstore-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deletePrefix(t, c, prefix) })
	return prefix
}

// deletePrefix deletes every key under prefix, on every master of c.
func deletePrefix(t testing.TB, c rueidis.Client, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, node := range c.Nodes() {
		var cursor uint64
		for {
			e, err := node.Do(ctx, node.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				// A replica, a node that is gone, or a client already closed: the
				// keys expire on their own.
				break
			}
			for _, k := range e.Elements {
				node.Do(ctx, node.B().Del().Key(k).Build())
			}
			if e.Cursor == 0 {
				break
			}
			cursor = e.Cursor
		}
	}
}

// newStore returns a Store on the test Redis under a unique prefix, and its client.
func newStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, rueidis.Client) {
	t.Helper()
	c := dial(t, rueidis.ClientOption{})
	return newStoreOn(t, c, opts), c
}

// newStoreOn returns a Store on c under a unique prefix (unless opts has one).
func newStoreOn(t testing.TB, c rueidis.Client, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = uniquePrefix(t, c)
	}
	return mustNew(t, c, opts)
}

// mustNew returns redisstore.New(c, opts), which must succeed.
func mustNew(t testing.TB, c rueidis.Client, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newKey returns a fresh KV key, as a KVStore makes them.
func newKey() string { return storetest.NewKey() }

func contextTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

// waitFound polls Get, errors included, until it finds key, and returns the record.
func waitFound(t *testing.T, kv store.KV, key string) store.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := contextTimeout(t, time.Second)
		rec, found, err := kv.Get(ctx, key)
		cancel()
		if err == nil && found {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get() = found %v, err %v; want the record back", found, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
