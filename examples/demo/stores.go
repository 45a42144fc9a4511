package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// openStore returns the store named by kind ("" or "memory", "redis", "postgres",
// "cookie") and a function that releases it.
func openStore(kind string) (store.Store, func(), error) {
	switch kind {
	case "", "memory":
		s, err := memstore.New(memstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		s.StartCleanup(time.Minute)
		return s, func() { s.Close() }, nil
	case "postgres":
		ctx := context.Background()
		pool, err := pgxpool.New(ctx, getenv("PG_URL", "postgres://postgres@127.0.0.1:5432/test"))
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(pool, pgstore.Options{Table: "demo_sessions"})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		if err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, nil, err
		}
		s.StartCleanup(time.Minute)
		return s, func() { s.Close(); pool.Close() }, nil
	case "redis":
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{getenv("REDIS_ADDR", "127.0.0.1:6379")}})
		if err != nil {
			return nil, nil, err
		}
		s, err := redisstore.New(client, redisstore.Options{Prefix: "demo:session:"})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return s, client.Close, nil
	case "cookie":
		key, err := cookieKey()
		if err != nil {
			return nil, nil, err
		}
		s, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
		return s, func() {}, err
	}
	return nil, nil, fmt.Errorf("demo: unknown STORE %q (want memory, redis, postgres or cookie)", kind)
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// cookieKey returns the sealing key from COOKIE_KEY (32 bytes in base64), or a random
// one, which makes every session end when the demo restarts.
func cookieKey() ([]byte, error) {
	if v := os.Getenv("COOKIE_KEY"); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("demo: COOKIE_KEY: %w", err)
		}
		return key, nil
	}
	log.Print("demo: COOKIE_KEY not set (32 bytes in base64, e.g. `head -c32 /dev/urandom | base64`): using a random key; sessions end on restart")
	key := make([]byte, cookiestore.KeySize)
	rand.Read(key)
	return key, nil
}
