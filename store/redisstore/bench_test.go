package redisstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// benchData is about the size of the workload's Profile as JSON (BENCH-WORKLOAD.md).
var benchData = bytes.Repeat([]byte("x"), 440)

// BenchmarkKV measures the KV beside the bare rueidis floor of each operation, on one
// key, sequentially: read is GET (store: Get), write is GET then SET EX (store: Get then
// Update), new is SET EX of a fresh key (store: Create). impl=cached is the store
// with CacheTTL set: its reads of an unchanged session make no round trip.
func BenchmarkKV(b *testing.B) {
	c := dial(b, rueidis.ClientOption{})
	prefix := uniquePrefix(b, c)
	ctx := context.Background()
	floorKey := prefix + "floor"
	if err := c.Do(ctx, c.B().Set().Key(floorKey).Value(rueidis.BinaryString(benchData)).Ex(time.Hour).Build()).Error(); err != nil {
		b.Fatal(err)
	}
	stores := map[string]store.KV{
		"store":  mustNew(b, c, redisstore.Options{Prefix: prefix + "s:"}).KV,
		"cached": mustNew(b, c, redisstore.Options{Prefix: prefix + "c:", CacheTTL: time.Minute}).KV,
	}
	keys := map[string]string{}
	for name, kv := range stores {
		keys[name] = newKey()
		rec := record(1, "", "")
		rec.Data = benchData
		if err := kv.Create(ctx, keys[name], rec); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("op=read/impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := c.Do(ctx, c.B().Get().Key(floorKey).Build()).AsBytes(); err != nil || len(v) != len(benchData) {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=write/impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Do(ctx, c.B().Get().Key(floorKey).Build()).AsBytes(); err != nil {
				b.Fatal(err)
			}
			if err := c.Do(ctx, c.B().Set().Key(floorKey).Value(rueidis.BinaryString(benchData)).Ex(time.Hour).Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=new/impl=floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Do(ctx, c.B().Set().Key(prefix+"new:"+newKey()).Value(rueidis.BinaryString(benchData)).Ex(time.Hour).Build()).Error(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"store", "cached"} {
		kv, key := stores[name], keys[name]
		b.Run("op=read/impl="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, found, err := kv.Get(ctx, key); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
		b.Run("op=write/impl="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec, found, err := kv.Get(ctx, key)
				if err != nil || !found {
					b.Fatal(found, err)
				}
				v := rec.Version
				rec.Version++
				if err := kv.Update(ctx, key, v, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("op=new/impl="+name, func(b *testing.B) {
			b.ReportAllocs()
			rec := record(1, "", "")
			rec.Data = benchData
			for b.Loop() {
				if err := kv.Create(ctx, newKey(), rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
