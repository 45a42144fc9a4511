package store_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// countingKV counts the keys that reach a KV.
type countingKV struct {
	store.KV
	calls atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, key string) (store.Record, bool, error) {
	c.calls.Add(1)
	return c.KV.Get(ctx, key)
}

func TestMalformedTokensNeverReachTheKV(t *testing.T) {
	mem, err := memstore.New(memstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kv := &countingKV{KV: mem.KV}
	s := store.KVStore{KV: kv}
	good := store.NewTokenForTest()
	for _, v := range []string{
		"short",
		good + "A",                     // too long
		good[:42] + "B",                // non-canonical final character
		strings.Repeat("*", len(good)), // not base64url
		strings.Repeat("A", 4096),      // oversize
		good[:40] + "+/=",              // standard base64, not url-safe
		"\x00" + good[1:],              // a NUL byte
	} {
		if _, found, err := s.Load(t.Context(), v); found || err != nil {
			t.Errorf("Load(%q) = found %v, err %v; want not found", v, found, err)
		}
	}
	if n := kv.calls.Load(); n != 0 {
		t.Errorf("%d malformed tokens reached the KV; want 0", n)
	}
	s.Load(t.Context(), good)
	if n := kv.calls.Load(); n != 1 {
		t.Errorf("a well-formed token made %d KV calls; want 1", n)
	}
}
