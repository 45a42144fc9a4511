package memstore_test

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// payload is about the size of the benchmark workload's Profile as JSON.
var payload = make([]byte, 440)

// benchKeys returns n distinct keys as a KVStore makes them.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = newKey()
	}
	return keys
}

func benchRecord() store.Record {
	now := time.Now()
	return store.Record{Data: payload, Expiry: now.Add(time.Hour), Created: now, Version: 1, Owner: "user:4242"}
}

// BenchmarkKV measures the KV operations of one goroutine on a store of 64 sessions,
// the workload's seeding: get and update of a live record, and create+delete of a fresh
// one (the pair, so that the store's size stays put).
func BenchmarkKV(b *testing.B) {
	ctx := b.Context()
	b.Run("op=get", func(b *testing.B) {
		s := newStore(b, memstore.Options{})
		keys := benchKeys(64)
		for _, k := range keys {
			s.KV.Create(ctx, k, benchRecord())
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rec, found, err := s.KV.Get(ctx, keys[i%len(keys)])
			if !found || err != nil || len(rec.Data) != len(payload) {
				b.Fatalf("Get = %v, %v", found, err)
			}
			i++
		}
	})
	b.Run("op=update", func(b *testing.B) {
		s := newStore(b, memstore.Options{})
		key := newKey()
		rec := benchRecord()
		s.KV.Create(ctx, key, rec)
		b.ReportAllocs()
		for b.Loop() {
			v := rec.Version
			rec.Version++
			if err := s.KV.Update(ctx, key, v, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=create+delete", func(b *testing.B) {
		s := newStore(b, memstore.Options{})
		keys := benchKeys(1024)
		rec := benchRecord()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := keys[i%len(keys)]
			if err := s.KV.Create(ctx, k, rec); err != nil {
				b.Fatal(err)
			}
			s.KV.Delete(ctx, k)
			i++
		}
	})
	// A full store: every Create evicts a record. The key is built in the loop (one
	// allocation of 32 bytes).
	b.Run("op=create-evicting", func(b *testing.B) {
		const limit = 10_000
		s := newStore(b, memstore.Options{MaxSessions: limit})
		b.ReportAllocs()
		rec := benchRecord()
		var kb [32]byte
		i := uint64(0)
		for b.Loop() {
			i++
			// A multiplicative hash spreads the keys over the shards as SHA-256 does.
			binary.BigEndian.PutUint64(kb[:], i*0x9E3779B97F4A7C15)
			if err := s.KV.Create(ctx, string(kb[:]), rec); err != nil {
				b.Fatal(err)
			}
		}
		if n := s.Len(); n > limit {
			b.Fatalf("Len = %d, over MaxSessions %d", n, limit)
		}
	})
}

// BenchmarkKVParallel measures Get and Update from GOMAXPROCS goroutines, each on its
// own record among 64, as the workload's par mode does.
func BenchmarkKVParallel(b *testing.B) {
	ctx := b.Context()
	for _, op := range []string{"get", "update"} {
		b.Run("op="+op, func(b *testing.B) {
			s := newStore(b, memstore.Options{})
			keys := benchKeys(64)
			for _, k := range keys {
				s.KV.Create(ctx, k, benchRecord())
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := keys[int(next.Add(1))%len(keys)]
				for pb.Next() {
					rec, found, err := s.KV.Get(ctx, key)
					if !found || err != nil {
						b.Fatalf("Get = %v, %v", found, err)
					}
					if op == "update" {
						v := rec.Version
						rec.Version++
						rec.Data = strconv.AppendUint(rec.Data[:0], rec.Version, 10)
						if err := s.KV.Update(ctx, key, v, rec); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		})
	}
}
