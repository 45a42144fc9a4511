// Command memsize measures the memory a session costs in each store: typedsession's
// memstore at 100 000 and 1 000 000 sessions of the canonical Profile and at 100 000
// sessions of a 4 KiB Profile, scs's memstore at 100 000 sessions of the canonical
// Profile, and Redis's MEMORY USAGE of the keys that typedsession's redisstore writes.
//
// From bench/peers:
//
//	go run ./cmd/memsize
//
// In process, bytes per session is the growth of runtime.MemStats.HeapAlloc (after a
// garbage collection, before and after the sessions are stored) divided by their
// number. The payload is what the store keeps as the session's value: the Profile
// encoded by typedsession's default codec (encoding/json) for our stores, and scs's
// gob encoding of its session (deadline and values) for scs. The key is what the store
// keys a session by: the 32-byte SHA-256 of the token for memstore, the 43-character
// token for scs, the prefix and the 32-byte digest for Redis. The goal is at most 1.5
// times the payload plus the key.
//
// Redis is found at REDIS_ADDR (default 127.0.0.1:6379); its sessions are written
// under a prefix of their own, as long as redisstore's default, and deleted at the end.
// Without Redis its row says so. It is not part of CI's quick form: it stores a
// million sessions.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/alexedwards/scs/v2"
	scsmemstore "github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/rueidis"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// goal is the bound on bytes per session, as a multiple of the payload plus the key.
const goal = 1.5

// redisSessions is the number of sessions whose MEMORY USAGE is averaged.
const redisSessions = 1000

func main() {
	gob.Register(workload.Profile{})
	canonical := encode(workload.Canonical())
	large := encode(workload.Sized(workload.Size4KiB))

	fmt.Println("| store | sessions | payload B | key B | bytes/session | × (payload + key) | goal ≤ 1.5 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	row("typedsession memstore", 100_000, canonical, sha256.Size, memstoreBytes(100_000, canonical))
	row("typedsession memstore", 1_000_000, canonical, sha256.Size, memstoreBytes(1_000_000, canonical))
	row("typedsession memstore, 4 KiB Profile", 100_000, large, sha256.Size, memstoreBytes(100_000, large))
	scsPayload := scsEncode(workload.Canonical())
	row("scs memstore", 100_000, scsPayload, len(token()), scsBytes(100_000, scsPayload))
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if per, key, err := redisBytes(addr, canonical); err != nil {
		fmt.Printf("| typedsession redisstore (Redis MEMORY USAGE) | - | %d | - | not measured: %v | | |\n", len(canonical), err)
	} else {
		row("typedsession redisstore (Redis MEMORY USAGE)", redisSessions, canonical, key, per)
	}
}

// row prints one store's line of the table.
func row(name string, n int, payload []byte, key int, perSession float64) {
	x := perSession / float64(len(payload)+key)
	verdict := "met"
	if x > goal {
		verdict = "**missed**"
	}
	fmt.Printf("| %s | %d | %d | %d | %.0f | %.2f | %s |\n", name, n, len(payload), key, perSession, x, verdict)
}

// encode returns p as typedsession's default codec encodes it.
func encode(p workload.Profile) []byte {
	b, err := typedsession.JSON{}.Marshal(&p)
	check(err)
	return b
}

// scsEncode returns the session holding p under one key as scs stores it.
func scsEncode(p workload.Profile) []byte {
	b, err := scs.GobCodec{}.Encode(time.Now().Add(24*time.Hour), map[string]any{"profile": p})
	check(err)
	return b
}

// heap returns the bytes allocated on the heap after a full garbage collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// perSession returns the heap growth from before to after, per session.
func perSession(before, after uint64, n int) float64 {
	return (float64(after) - float64(before)) / float64(n)
}

// memstoreBytes stores n sessions of data in a fresh memstore, each as the Manager
// creates one, and returns the heap they take per session.
func memstoreBytes(n int, data []byte) float64 {
	st, err := memstore.New(memstore.Options{MaxSessions: n})
	check(err)
	ctx := context.Background()
	before := heap()
	now := time.UnixMilli(time.Now().UnixMilli())
	rec := store.Record{Data: data, Created: now, Active: now, Expiry: now.Add(24 * time.Hour), Version: 1}
	for range n {
		_, err := st.Save(ctx, "", 0, rec) // the store copies Data; the token is dropped, as a client keeps it
		check(err)
	}
	after := heap()
	if st.Len() != n {
		check(fmt.Errorf("memstore holds %d sessions, want %d", st.Len(), n))
	}
	runtime.KeepAlive(st)
	return perSession(before, after, n)
}

// scsBytes commits n sessions of data, each a copy, to a fresh scs memstore without a
// cleanup goroutine, and returns the heap they take per session.
func scsBytes(n int, data []byte) float64 {
	st := scsmemstore.NewWithCleanupInterval(0)
	before := heap()
	expiry := time.Now().Add(24 * time.Hour)
	for range n {
		check(st.Commit(token(), append([]byte(nil), data...), expiry))
	}
	after := heap()
	all, err := st.All()
	check(err)
	if len(all) != n {
		check(fmt.Errorf("scs memstore holds %d sessions, want %d", len(all), n))
	}
	all = nil
	runtime.KeepAlive(st)
	return perSession(before, after, n)
}

// token returns a token as scs makes them: 32 random bytes, unpadded base64url.
func token() string {
	return base64.RawURLEncoding.EncodeToString(random(32))
}

// redisBytes writes redisSessions sessions of data through redisstore, under a prefix
// of its own, and returns the mean MEMORY USAGE of their keys and the length of a key.
// It deletes them at the end.
func redisBytes(addr string, data []byte) (perKey float64, keyLen int, err error) {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		return 0, 0, err
	}
	defer client.Close()
	ctx := context.Background()
	// "m" and six hex digits and a colon: as long as redisstore.DefaultPrefix.
	prefix := fmt.Sprintf("m%06x:", random(3))
	st, err := redisstore.New(client, redisstore.Options{Prefix: prefix})
	if err != nil {
		return 0, 0, err
	}
	now := time.UnixMilli(time.Now().UnixMilli())
	rec := store.Record{Data: data, Created: now, Active: now, Expiry: now.Add(24 * time.Hour), Version: 1}
	keys := make([]string, 0, redisSessions)
	defer func() {
		for _, k := range keys {
			if derr := client.Do(ctx, client.B().Del().Key(k).Build()).Error(); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	var total int64
	for range redisSessions {
		tok, err := st.Save(ctx, "", 0, rec)
		if err != nil {
			return 0, 0, err
		}
		sum := sha256.Sum256([]byte(tok))
		k := prefix + string(sum[:])
		keys = append(keys, k)
		n, err := client.Do(ctx, client.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err != nil {
			return 0, 0, fmt.Errorf("MEMORY USAGE: %w", err)
		}
		total += n
	}
	return float64(total) / redisSessions, len(keys[0]), nil
}

// random returns n bytes from crypto/rand.
func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "memsize:", err)
		os.Exit(1)
	}
}
