package pgstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// benchPayload is the size of the workload's session as JSON (BENCH-WORKLOAD.md).
var benchPayload = bytes.Repeat([]byte("a"), 440)

// benchKey returns the key numbered i: the SHA-256 of i as 8 big-endian
// bytes, as the seeding SQL makes them (sha256(int8send(i))).
func benchKey(i int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(b[:])
	return string(sum[:])
}

// BenchmarkOps measures the KV operations the Manager makes per request beside
// the bare pgx floor of BENCH-WORKLOAD.md, on one pool, sequentially:
//
//	op=read   Get                  vs  SELECT data WHERE key = $1
//	op=write  Get + Update         vs  SELECT data + UPSERT
//	op=new    Create (fresh key)   vs  UPSERT of a fresh key
func BenchmarkOps(b *testing.B) {
	pool := newPool(b, nil)
	ctx := context.Background()
	s := newStore(b, pool, pgstore.Options{})
	kv := s.KVStore.KV

	floor := uniqueTable()
	if _, err := pool.Exec(ctx, `CREATE TABLE `+quote(floor)+
		` (key bytea PRIMARY KEY, data bytea NOT NULL, expiry timestamptz NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Exec(context.Background(), `DROP TABLE `+quote(floor)) })
	floorGet := `SELECT data FROM ` + quote(floor) + ` WHERE key = $1`
	floorPut := `INSERT INTO ` + quote(floor) + ` (key, data, expiry) VALUES ($1, $2, $3)` +
		` ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`

	k := benchKey(0)
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := kv.Create(ctx, k, store.Record{Data: benchPayload, Expiry: expiry, Created: time.Now(), Version: 1}); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, floorPut, []byte(k), benchPayload, expiry); err != nil {
		b.Fatal(err)
	}
	next := int64(1 << 40) // fresh keys, for op=new

	cases := []struct {
		name string
		fn   func(b *testing.B)
	}{
		{"backend=floor/op=read", func(b *testing.B) {
			var data []byte
			if err := pool.QueryRow(ctx, floorGet, []byte(k)).Scan(&data); err != nil || len(data) != len(benchPayload) {
				b.Fatal(len(data), err)
			}
		}},
		{"backend=pgstore/op=read", func(b *testing.B) {
			rec, found, err := kv.Get(ctx, k)
			if err != nil || !found || len(rec.Data) != len(benchPayload) {
				b.Fatal(found, err)
			}
		}},
		{"backend=floor/op=write", func(b *testing.B) {
			var data []byte
			if err := pool.QueryRow(ctx, floorGet, []byte(k)).Scan(&data); err != nil {
				b.Fatal(err)
			}
			if _, err := pool.Exec(ctx, floorPut, []byte(k), data, expiry); err != nil {
				b.Fatal(err)
			}
		}},
		{"backend=pgstore/op=write", func(b *testing.B) {
			rec, found, err := kv.Get(ctx, k)
			if err != nil || !found {
				b.Fatal(found, err)
			}
			v := rec.Version
			rec.Version++
			if err := kv.Update(ctx, k, v, rec); err != nil {
				b.Fatal(err)
			}
		}},
		{"backend=floor/op=new", func(b *testing.B) {
			next++
			if _, err := pool.Exec(ctx, floorPut, []byte(benchKey(next)), benchPayload, expiry); err != nil {
				b.Fatal(err)
			}
		}},
		{"backend=pgstore/op=new", func(b *testing.B) {
			next++
			rec := store.Record{Data: benchPayload, Expiry: expiry, Created: expiry, Version: 1}
			if err := kv.Create(ctx, benchKey(next), rec); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.fn(b)
			}
		})
	}
}

// BenchmarkGetRows measures Get on a table of 1k live rows and, when
// PGSTORE_BENCH_1M=1 (seeding takes a while), of 1M rows: a lookup by primary
// key should barely notice the size of the table.
func BenchmarkGetRows(b *testing.B) {
	for _, n := range []int64{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			if n > 1_000 && os.Getenv("PGSTORE_BENCH_1M") == "" {
				b.Skip("set PGSTORE_BENCH_1M=1 to seed and measure a table of 1M rows")
			}
			pool := newPool(b, nil)
			table := uniqueTable()
			kv := newStore(b, pool, pgstore.Options{Table: table}).KVStore.KV
			seedLive(b, pool, table, n)
			b.ReportAllocs()
			for b.Loop() {
				_, found, err := kv.Get(context.Background(), benchKey(1+rand.Int64N(n)))
				if err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// seedLive inserts n live rows, keyed by benchKey(1..n), with one statement.
func seedLive(b *testing.B, pool *pgxpool.Pool, table string, n int64) {
	b.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO `+quote(table)+` (key, data, expiry, created, version)
		SELECT sha256(int8send(i)), $2, now() + interval '1 day', now(), 1
		FROM generate_series(1, $1::bigint) AS i`, n, benchPayload)
	if err != nil {
		b.Fatalf("seeding %d rows: %v", n, err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE `+quote(table)); err != nil {
		b.Fatal(err)
	}
}
