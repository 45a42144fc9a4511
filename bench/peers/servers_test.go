package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// getenv and unavailable are this module's copy of typedsession's internal/testenv,
// which a module of its own cannot import: servers come from REDIS_ADDR and PG_URL with
// loopback defaults; a missing one skips locally and fails under CI.
func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is required when CI is set: %v", what, err)
	}
	tb.Skipf("%s unavailable (set CI=1 to make this a failure): %v", what, err)
}

var (
	redisAddr = getenv("REDIS_ADDR", "127.0.0.1:6379")
	pgURL     = getenv("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
)

func unique(name string) string {
	var b [4]byte
	rand.Read(b[:])
	return name + hex.EncodeToString(b[:])
}

// redisPool returns a redigo pool as the scs README configures it, and a fresh key
// prefix whose keys are removed when tb ends.
func redisPool(tb testing.TB) (*redis.Pool, string) {
	tb.Helper()
	pool := &redis.Pool{
		MaxIdle: 10,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", redisAddr) },
	}
	conn := pool.Get()
	_, err := conn.Do("PING")
	conn.Close()
	if err != nil {
		pool.Close()
		unavailable(tb, "Redis at "+redisAddr, err)
	}
	prefix := unique("bench:scs:") + ":"
	tb.Cleanup(func() {
		defer pool.Close()
		conn := pool.Get()
		defer conn.Close()
		cursor := "0"
		for {
			reply, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
			if err != nil {
				tb.Errorf("cleaning %s*: %v", prefix, err)
				return
			}
			cursor, _ = redis.String(reply[0], nil)
			keys, _ := redis.Strings(reply[1], nil)
			if len(keys) > 0 {
				args := redis.Args{}.AddFlat(keys)
				if _, err := conn.Do("UNLINK", args...); err != nil {
					tb.Errorf("cleaning %s*: %v", prefix, err)
					return
				}
			}
			if cursor == "0" {
				return
			}
		}
	})
	return pool, prefix
}

// pgPool returns a pgxpool whose search_path is a fresh schema holding scs's sessions
// table (pgxstore's table name is fixed), dropped when tb ends.
func pgPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		unavailable(tb, "PostgreSQL at "+pgURL, err)
	}
	defer admin.Close(ctx)
	schema := unique("bench_scs_")
	s := pgx.Identifier{schema}.Sanitize()
	// The table and index of the scs pgxstore README.
	_, err = admin.Exec(ctx, `CREATE SCHEMA `+s+`;
CREATE TABLE `+s+`.sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
CREATE INDEX sessions_expiry_idx ON `+s+`.sessions (expiry);`)
	if err != nil {
		tb.Fatalf("creating schema %s: %v", schema, err)
	}
	cfg, err := pgxpool.ParseConfig(pgURL)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		pool.Close()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+s+` CASCADE`); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return pool
}
