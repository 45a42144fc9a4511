package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// openStore returns the store named by kind ("" or "memory", "redis", "postgres",
// "mongo", "cookie") and a function that releases it.
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
	case "mongo":
		return openMongo()
	case "cookie":
		key, err := cookieKey()
		if err != nil {
			return nil, nil, err
		}
		s, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
		return s, func() {}, err
	}
	return nil, nil, fmt.Errorf("demo: unknown STORE %q (want memory, redis, postgres, mongo or cookie)", kind)
}

// openMongo opens the MongoDB store: the collection MONGO_COLLECTION (default
// sessions) of the database MONGO_DB (default typedsession_demo) at MONGO_URL
// (default mongodb://127.0.0.1:27017), with its indexes made and, on a server without
// TTL indexes (FerretDB), the cleanup started.
func openMongo() (store.Store, func(), error) {
	uri := getenv("MONGO_URL", "mongodb://127.0.0.1:27017")
	where := "MONGO_URL"
	if u, err := url.Parse(uri); err == nil {
		where += "=" + u.Redacted() // no password in the log
	}
	// Five seconds to find the server, unless MONGO_URL says (serverSelectionTimeoutMS).
	client, err := mongo.Connect(options.Client().SetServerSelectionTimeout(5 * time.Second).ApplyURI(uri))
	if err != nil {
		return nil, nil, fmt.Errorf("demo: %s: %w", where, err)
	}
	disconnect := func() { client.Disconnect(context.Background()) }
	coll := client.Database(getenv("MONGO_DB", "typedsession_demo")).Collection(getenv("MONGO_COLLECTION", "sessions"))
	s, err := mongostore.New(coll, mongostore.Options{})
	if err != nil {
		disconnect()
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	setup, err := s.Setup(ctx)
	if err != nil {
		disconnect()
		return nil, nil, fmt.Errorf("demo: no MongoDB answers at %s (.ci/mongo start runs FerretDB there): %w", where, err)
	}
	for _, u := range setup.Unsupported {
		log.Printf("demo: %s: %s", setup.Server, u)
	}
	if setup.NeedsCleanup() {
		s.StartCleanup(time.Minute)
	}
	log.Printf("demo: %s, %s writes, collection %s.%s", setup.Server, setup.Writes, coll.Database().Name(), coll.Name())
	return s, func() { s.Close(); disconnect() }, nil
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
