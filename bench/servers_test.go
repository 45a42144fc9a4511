package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/seed96b21533/typedsession/internal/redistest"
	"github.com/seed96b21533/typedsession/internal/testenv"
)

// Servers are found as the store tests find them: REDIS_ADDR, PG_URL and MONGO_URL with
// loopback defaults; a missing server skips the benchmark locally and fails it under CI.
var (
	redisAddr = testenv.Getenv("REDIS_ADDR", "127.0.0.1:6379")
	pgURL     = testenv.Getenv("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
	mongoURL  = testenv.Getenv("MONGO_URL", "mongodb://127.0.0.1:27017")
)

// The clients are shared by every benchmark of the run (as an application shares
// them) and never closed: the process ends with the run.
var (
	redisOnce   sync.Once
	redisShared rueidis.Client
	redisErr    error
	pgOnce      sync.Once
	pgShared    *pgxpool.Pool
	pgErr       error
	mongoOnce   sync.Once
	mongoShared *mongo.Client
	mongoErr    error
)

// redisClient returns a rueidis client with default options.
func redisClient(tb testing.TB) rueidis.Client {
	tb.Helper()
	redisOnce.Do(func() {
		redisShared, redisErr = rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{redisAddr}})
	})
	if redisErr != nil {
		testenv.Unavailable(tb, "Redis at "+redisAddr, redisErr)
	}
	return redisShared
}

// redisWithReplica starts a Redis master and a replica of it on free loopback ports,
// and returns a client of the master with default options. The servers (stopped by
// process) and the client go when tb ends.
func redisWithReplica(tb testing.TB) rueidis.Client {
	tb.Helper()
	master := redistest.Start(tb, "")
	redistest.StartReplica(tb, master)
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{master.Addr}})
	must(tb, err, "rueidis.NewClient(%s)", master.Addr)
	tb.Cleanup(client.Close)
	return client
}

// pgPool returns a pgxpool with default options.
func pgPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pgShared, pgErr = pgxpool.New(context.Background(), pgURL)
		if pgErr == nil {
			if pgErr = pgShared.Ping(ctx); pgErr != nil {
				pgShared.Close()
			}
		}
	})
	if pgErr != nil {
		testenv.Unavailable(tb, "PostgreSQL at "+pgURL, pgErr)
	}
	return pgShared
}

// mongoClient returns a MongoDB client with default options (but a 5-second server
// selection timeout, so that a missing server is reported soon).
func mongoClient(tb testing.TB) *mongo.Client {
	tb.Helper()
	mongoOnce.Do(func() {
		mongoShared, mongoErr = mongo.Connect(options.Client().ApplyURI(mongoURL).SetServerSelectionTimeout(5 * time.Second))
		if mongoErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if mongoErr = mongoShared.Ping(ctx, readpref.Primary()); mongoErr != nil {
				mongoShared.Disconnect(ctx)
			}
		}
	})
	if mongoErr != nil {
		testenv.Unavailable(tb, "MongoDB at "+mongoURL+" (.ci/mongo start runs FerretDB there)", mongoErr)
	}
	return mongoShared
}

// mongoCollection returns a collection in a fresh database, dropped when tb ends.
func mongoCollection(tb testing.TB, client *mongo.Client, name string) *mongo.Collection {
	tb.Helper()
	db := client.Database(unique("bench_" + name + "_"))
	tb.Cleanup(func() {
		if err := db.Drop(context.Background()); err != nil {
			tb.Errorf("dropping the database %s: %v", db.Name(), err)
		}
	})
	return db.Collection("sessions")
}

// unique returns name with a random suffix, for a key prefix or a table of one run.
func unique(name string) string {
	var b [4]byte
	rand.Read(b[:])
	return name + hex.EncodeToString(b[:])
}

// redisPrefix returns a fresh key prefix whose keys are removed when tb ends.
func redisPrefix(tb testing.TB, client rueidis.Client, name string) string {
	tb.Helper()
	prefix := unique("bench:"+name+":") + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		var cursor uint64
		for {
			e, err := client.Do(ctx, client.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				tb.Errorf("cleaning %s*: %v", prefix, err)
				return
			}
			if len(e.Elements) > 0 {
				if err := client.Do(ctx, client.B().Unlink().Key(e.Elements...).Build()).Error(); err != nil {
					tb.Errorf("cleaning %s*: %v", prefix, err)
					return
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				return
			}
		}
	})
	return prefix
}

// pgTable returns a fresh table name, dropped when tb ends.
func pgTable(tb testing.TB, pool *pgxpool.Pool, name string) string {
	tb.Helper()
	table := unique("bench_" + name + "_")
	tb.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+pgx.Identifier{table}.Sanitize()); err != nil {
			tb.Errorf("dropping %s: %v", table, err)
		}
	})
	return table
}

func must(tb testing.TB, err error, what string, args ...any) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
