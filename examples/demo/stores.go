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
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// connectTimeout bounds how long the demo waits for PostgreSQL at startup.
const connectTimeout = 5 * time.Second

// openStore returns the store named by kind (the STORE variable: "" or "memory",
// "redis", "postgres", "mongo", "cookie") and a function that releases it. An error names the
// variable to fix.
//
// The server-side stores come wrapped in a type of inspect.go that also reads their
// records raw, for the page; an application passes the store itself to
// typedsession.New. A store without such a wrapper works the same, and the page shows
// its records as Store.Load returns them.
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
		pgURL := getenv("PG_URL", defaultPGURL)
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		// pgxpool.New only parses: ping, so that an unreachable server is a clear
		// error now rather than on the first request.
		cfg, err := pgxpool.ParseConfig(pgURL)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: STORE=postgres: PG_URL is not a PostgreSQL connection string: %w", err)
		}
		if cfg.ConnConfig.ConnectTimeout == 0 {
			// The pool dials in the background, beyond any request's deadline: without
			// a timeout of its own, a server that hangs keeps its slots forever (see
			// "Outages" in package pgstore).
			cfg.ConnConfig.ConnectTimeout = connectTimeout
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: STORE=postgres: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("demo: STORE=postgres: cannot reach PostgreSQL at %s (set PG_URL): %w", redactURL(pgURL), err)
		}
		s, err := pgstore.New(pool, pgstore.Options{Table: pgTable})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		if err := s.Migrate(ctx); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("demo: STORE=postgres: creating the table %s at %s (PG_URL): %w", pgTable, redactURL(pgURL), err)
		}
		s.StartCleanup(time.Minute)
		return pgRaw{Store: s, pool: pool}, func() { s.Close(); pool.Close() }, nil
	case "redis":
		addr := getenv("REDIS_ADDR", defaultRedisAddr)
		// rueidis.NewClient connects at once (within its 5-second dial timeout): an
		// unreachable server is an error here.
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
		if err != nil {
			return nil, nil, fmt.Errorf("demo: STORE=redis: cannot reach Redis at %s (set REDIS_ADDR to host:port): %w", addr, err)
		}
		s, err := redisstore.New(client, redisstore.Options{Prefix: redisPrefix})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		return redisRaw{Store: s, client: client}, client.Close, nil
	case "mongo":
		return openMongo()
	case "cookie":
		key, err := cookieKey()
		if err != nil {
			return nil, nil, err
		}
		s, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
		if err != nil {
			return nil, nil, fmt.Errorf("demo: STORE=cookie: COOKIE_KEY: %w", err)
		}
		return s, func() {}, nil
	}
	return nil, nil, fmt.Errorf("demo: unknown STORE=%q (want memory, redis, postgres, mongo or cookie)", kind)
}

const (
	defaultRedisAddr = "127.0.0.1:6379"
	defaultPGURL     = "postgres://postgres@127.0.0.1:5432/test"
	redisPrefix      = "demo:session:"
	pgTable          = "demo_sessions"
)

// describeStore says, for the page and the log, where kind keeps its sessions: "sessions
// in ...".
func describeStore(kind string) string {
	switch kind {
	case "", "memory":
		return "the memory of this process (store/memstore)"
	case "redis":
		return "Redis at " + getenv("REDIS_ADDR", defaultRedisAddr) + ", keys " + redisPrefix + "… (store/redisstore)"
	case "postgres":
		return "PostgreSQL at " + redactURL(getenv("PG_URL", defaultPGURL)) + ", table " + pgTable + " (store/pgstore)"
	case "mongo":
		return "MongoDB at " + redactURL(getenv("MONGO_URL", "mongodb://127.0.0.1:27017")) + " (store/mongostore)"
	case "cookie":
		return "the cookie itself, sealed with AES-256-GCM (store/cookiestore)"
	}
	return "the store STORE=" + kind + " names"
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

// redactURL returns a connection URL without its password, or a placeholder when it
// is not a URL (a key=value connection string may hold one anywhere).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "the server PG_URL names"
	}
	return u.Redacted()
}

// cookieKey returns the sealing key from COOKIE_KEY (32 bytes in base64), or a random
// one, which makes every session end when the demo restarts.
func cookieKey() ([]byte, error) {
	if v := os.Getenv("COOKIE_KEY"); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("demo: STORE=cookie: COOKIE_KEY is not standard base64 (make one with `head -c32 /dev/urandom | base64`): %w", err)
		}
		if len(key) != cookiestore.KeySize {
			return nil, fmt.Errorf("demo: STORE=cookie: COOKIE_KEY decodes to %d bytes, want %d (make one with `head -c32 /dev/urandom | base64`)", len(key), cookiestore.KeySize)
		}
		return key, nil
	}
	log.Print("demo: COOKIE_KEY not set (32 bytes in base64, e.g. `head -c32 /dev/urandom | base64`): using a random key; sessions end on restart")
	key := make([]byte, cookiestore.KeySize)
	rand.Read(key)
	return key, nil
}
