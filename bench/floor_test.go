package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/seed96b21533/typedsession/bench/workload"
)

// A floor is the physical limit of a backend on the workload: no HTTP, no cookie, no
// codec. open prepares it and returns, for an op and a session index, the function one
// goroutine calls once per iteration.
type floor struct {
	name string
	open func(tb testing.TB, value []byte) func(op workload.Op, s int) func() error
}

var floorOps = []workload.Op{workload.OpRead, workload.OpWrite, workload.OpNew}

// BenchmarkFloor measures the floor of each backend, as in the table of
// BENCH-WORKLOAD.md, on the canonical Profile's JSON (about 440 bytes):
//
//	redis    (bare rueidis, default options)  read: GET k; write: GET k + SET k v EX; new: SET k' v EX
//	postgres (bare pgxpool)                   read: SELECT data WHERE key = $1; write: SELECT + UPSERT; new: UPSERT of a fresh key
//	mongo    (bare mongo-driver v2)           read: FindOne by _id; write: FindOne + UpdateOne $set data, expiry; new: InsertOne
//	memory   (sync.Map of *Profile)           read: Load; write: Load, copy, Store; new: Store under a fresh key
//	cookie   (AES-256-GCM, base64url)         read: decode + Open; write: Open + Seal + encode; new: Seal + encode
func BenchmarkFloor(b *testing.B) {
	value, err := json.Marshal(workload.Canonical())
	must(b, err, "json.Marshal")
	for _, f := range []floor{redisFloor, postgresFloor, mongoFloor, memoryFloor, cookieFloor} {
		b.Run("backend="+f.name, func(b *testing.B) {
			for _, op := range floorOps {
				b.Run("op="+string(op), func(b *testing.B) {
					do := f.open(b, value)
					for _, mode := range workload.Modes {
						b.Run("mode="+string(mode), func(b *testing.B) { runFloor(b, do, op, mode) })
					}
				})
			}
		})
	}
}

func runFloor(b *testing.B, do func(workload.Op, int) func() error, op workload.Op, mode workload.Mode) {
	b.ReportAllocs()
	switch mode {
	case workload.Seq:
		fn := do(op, 0)
		b.ResetTimer()
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
	case workload.Par:
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			fn := do(op, int(next.Add(1)-1)%workload.Sessions)
			for pb.Next() {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// fresh numbers the keys of op=new across goroutines.
var fresh atomic.Uint64

const floorTTL = 24 * time.Hour

var redisFloor = floor{name: "redis", open: func(tb testing.TB, value []byte) func(workload.Op, int) func() error {
	client := redisClient(tb)
	prefix := redisPrefix(tb, client, "floor")
	ctx := context.Background()
	v := string(value)
	for s := range workload.Sessions {
		must(tb, client.Do(ctx, client.B().Set().Key(prefix+strconv.Itoa(s)).Value(v).ExSeconds(int64(floorTTL/time.Second)).Build()).Error(), "seeding")
	}
	return func(op workload.Op, s int) func() error {
		k := prefix + strconv.Itoa(s)
		get := func() error {
			got, err := client.Do(ctx, client.B().Get().Key(k).Build()).AsBytes()
			if err == nil && len(got) != len(v) {
				err = fmt.Errorf("GET %s: %d bytes, want %d", k, len(got), len(v))
			}
			return err
		}
		switch op {
		case workload.OpRead:
			return get
		case workload.OpWrite:
			return func() error {
				if err := get(); err != nil {
					return err
				}
				return client.Do(ctx, client.B().Set().Key(k).Value(v).ExSeconds(int64(floorTTL/time.Second)).Build()).Error()
			}
		default:
			return func() error {
				k := prefix + "new:" + strconv.FormatUint(fresh.Add(1), 10)
				return client.Do(ctx, client.B().Set().Key(k).Value(v).ExSeconds(int64(floorTTL/time.Second)).Build()).Error()
			}
		}
	}
}}

var postgresFloor = floor{name: "postgres", open: func(tb testing.TB, value []byte) func(workload.Op, int) func() error {
	pool := pgPool(tb)
	ctx := context.Background()
	t := pgx.Identifier{pgTable(tb, pool, "floor")}.Sanitize()
	_, err := pool.Exec(ctx, `CREATE TABLE `+t+` (key bytea PRIMARY KEY, data bytea NOT NULL, expiry timestamptz NOT NULL)`)
	must(tb, err, "creating %s", t)
	sel := `SELECT data FROM ` + t + ` WHERE key = $1`
	upsert := `INSERT INTO ` + t + ` (key, data, expiry) VALUES ($1, $2, $3)` +
		` ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`
	var keys [workload.Sessions][]byte
	for s := range keys {
		keys[s] = make([]byte, 32)
		rand.Read(keys[s])
		_, err := pool.Exec(ctx, upsert, keys[s], value, time.Now().Add(floorTTL))
		must(tb, err, "seeding")
	}
	return func(op workload.Op, s int) func() error {
		k := keys[s]
		var data []byte
		get := func() error {
			if err := pool.QueryRow(ctx, sel, k).Scan(&data); err != nil {
				return err
			}
			if len(data) != len(value) {
				return fmt.Errorf("SELECT: %d bytes, want %d", len(data), len(value))
			}
			return nil
		}
		switch op {
		case workload.OpRead:
			return get
		case workload.OpWrite:
			return func() error {
				if err := get(); err != nil {
					return err
				}
				_, err := pool.Exec(ctx, upsert, k, value, time.Now().Add(floorTTL))
				return err
			}
		default:
			key := make([]byte, 32)
			return func() error {
				rand.Read(key)
				_, err := pool.Exec(ctx, upsert, key, value, time.Now().Add(floorTTL))
				return err
			}
		}
	}
}}

// mongoFloor works on documents shaped as mongostore's: a 32-byte binary _id, the value
// as binary data, an expiry.
var mongoFloor = floor{name: "mongo", open: func(tb testing.TB, value []byte) func(workload.Op, int) func() error {
	coll := mongoCollection(tb, mongoClient(tb), "floor")
	ctx := context.Background()
	data := bson.Binary{Data: value}
	var keys [workload.Sessions]bson.Binary
	for s := range keys {
		k := make([]byte, 32)
		rand.Read(k)
		keys[s] = bson.Binary{Data: k}
		_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: keys[s]}, {Key: "data", Value: data}, {Key: "expiry", Value: time.Now().Add(floorTTL)}})
		must(tb, err, "seeding")
	}
	return func(op workload.Op, s int) func() error {
		filter := bson.D{{Key: "_id", Value: keys[s]}}
		get := func() error {
			raw, err := coll.FindOne(ctx, filter).Raw()
			if err != nil {
				return err
			}
			if _, got, _ := raw.Lookup("data").BinaryOK(); len(got) != len(value) {
				return fmt.Errorf("FindOne: %d bytes, want %d", len(got), len(value))
			}
			return nil
		}
		switch op {
		case workload.OpRead:
			return get
		case workload.OpWrite:
			return func() error {
				if err := get(); err != nil {
					return err
				}
				_, err := coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{
					{Key: "data", Value: data}, {Key: "expiry", Value: time.Now().Add(floorTTL)},
				}}})
				return err
			}
		default:
			return func() error {
				k := make([]byte, 32)
				rand.Read(k)
				_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.Binary{Data: k}}, {Key: "data", Value: data}, {Key: "expiry", Value: time.Now().Add(floorTTL)}})
				return err
			}
		}
	}
}}

var memoryFloor = floor{name: "memory", open: func(tb testing.TB, _ []byte) func(workload.Op, int) func() error {
	var m sync.Map
	p := workload.Canonical()
	for s := range workload.Sessions {
		v := p
		m.Store(uint64(s), &v)
	}
	return func(op workload.Op, s int) func() error {
		k := uint64(s)
		switch op {
		case workload.OpRead:
			return func() error {
				v, ok := m.Load(k)
				if !ok || v.(*workload.Profile).Name != p.Name {
					return errors.New("sync.Map: session not found")
				}
				return nil
			}
		case workload.OpWrite:
			return func() error {
				v, ok := m.Load(k)
				if !ok {
					return errors.New("sync.Map: session not found")
				}
				c := *v.(*workload.Profile)
				c.Counter++
				m.Store(k, &c)
				return nil
			}
		default:
			return func() error {
				v := p
				m.Store(workload.Sessions+fresh.Add(1), &v)
				return nil
			}
		}
	}
}}

var cookieFloor = floor{name: "cookie", open: func(tb testing.TB, value []byte) func(workload.Op, int) func() error {
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	must(tb, err, "aes.NewCipher")
	aead, err := cipher.NewGCM(block)
	must(tb, err, "cipher.NewGCM")
	enc := base64.RawURLEncoding
	seal := func(dst []byte) []byte {
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(value)+aead.Overhead())
		rand.Read(nonce)
		sealed := aead.Seal(nonce, nonce, value, nil)
		return enc.AppendEncode(dst[:0], sealed)
	}
	cookie := seal(nil)
	return func(op workload.Op, _ int) func() error {
		var raw, plain, out []byte
		open := func(c []byte) error {
			var err error
			if raw, err = enc.AppendDecode(raw[:0], c); err != nil {
				return err
			}
			n := aead.NonceSize()
			if plain, err = aead.Open(plain[:0], raw[:n], raw[n:], nil); err != nil {
				return err
			}
			if len(plain) != len(value) {
				return fmt.Errorf("opened %d bytes, want %d", len(plain), len(value))
			}
			return nil
		}
		switch op {
		case workload.OpRead:
			return func() error { return open(cookie) }
		case workload.OpWrite:
			return func() error {
				if err := open(cookie); err != nil {
					return err
				}
				out = seal(out)
				return nil
			}
		default:
			return func() error {
				out = seal(out)
				return nil
			}
		}
	}
}}
