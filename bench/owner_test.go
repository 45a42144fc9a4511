package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// BenchmarkOwner measures what "log out everywhere" costs: the Store operations the
// Manager makes to create, write and destroy a session, without an owner and with one,
// on each server-side store. Beside the time it reports the commands each operation
// sends (redis-cmds/op and redis-trips/op, counted around the rueidis client;
// pg-stmts/op, from a pgx tracer): a session without an owner must cost nothing extra,
// one with an owner at most one command more on create and destroy.
func BenchmarkOwner(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) (store.Store, []counter)
	}{
		{"memory", func(b *testing.B) (store.Store, []counter) {
			// Room for every session destroy makes before the timer starts.
			st, err := memstore.New(memstore.Options{MaxSessions: b.N + 1024})
			must(b, err, "memstore.New")
			return st, nil
		}},
		{"redis", func(b *testing.B) (store.Store, []counter) {
			client := &countingClient{Client: redisClient(b)}
			st, err := redisstore.New(client, redisstore.Options{Prefix: redisPrefix(b, client, "owner")})
			must(b, err, "redisstore.New")
			return st, []counter{{"redis-cmds/op", &client.cmds}, {"redis-trips/op", &client.trips}}
		}},
		{"postgres", func(b *testing.B) (store.Store, []counter) {
			pool, n := tracedPool(b)
			st, err := pgstore.New(pool, pgstore.Options{Table: pgTable(b, pool, "owner")})
			must(b, err, "pgstore.New")
			must(b, st.Migrate(context.Background()), "pgstore.Migrate")
			return st, []counter{{"pg-stmts/op", n}}
		}},
	} {
		for _, owner := range []string{"none", "set"} {
			for _, op := range []string{"create", "write", "destroy"} {
				b.Run("backend="+be.name+"/owner="+owner+"/op="+op, func(b *testing.B) {
					st, counters := be.open(b)
					benchOwnerOp(b, st, counters, owner == "set", op)
				})
			}
		}
	}
}

// counter is a count of server commands, reported per operation as unit.
type counter struct {
	unit string
	n    *atomic.Int64
}

func benchOwnerOp(b *testing.B, st store.Store, counters []counter, owned bool, op string) {
	ctx := context.Background()
	data, err := typedsession.JSON{}.Marshal(workload.Canonical())
	must(b, err, "encode")
	now := time.UnixMilli(time.Now().UnixMilli())
	rec := store.Record{Data: data, Created: now, Expiry: now.Add(time.Hour), Version: 1}
	// Each session has an owner of its own, as users do; "set" owners are the ones the
	// index must find.
	newRec := func(i int) store.Record {
		r := rec
		if owned {
			r.Owner = "user-" + strconv.Itoa(i%1000)
		}
		return r
	}
	create := func(i int) string {
		token, err := st.Save(ctx, "", 0, newRec(i))
		must(b, err, "Save (create)")
		return token
	}

	// The sessions destroy and write act on are made before the timer starts, so this
	// benchmark counts iterations itself instead of using b.Loop: destroy needs one per
	// iteration, write takes turns over a pool of 1024.
	var tokens []string
	var versions []uint64
	switch op {
	case "destroy":
		tokens = make([]string, b.N)
	case "write":
		tokens, versions = make([]string, min(b.N, 1024)), make([]uint64, min(b.N, 1024))
	}
	for i := range tokens {
		tokens[i] = create(i)
	}
	before := make([]int64, len(counters))
	for i, c := range counters {
		before[i] = c.n.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		switch op {
		case "create":
			create(i)
		case "write":
			j := i % len(tokens)
			r := newRec(j)
			r.Version = versions[j] + 2
			_, err := st.Save(ctx, tokens[j], versions[j]+1, r)
			must(b, err, "Save (update)")
			versions[j]++
		case "destroy":
			// What Destroy does: the session becomes a marker, at the version read.
			marker := store.Record{Expiry: time.Now().Add(time.Minute), Version: 2, Owner: newRec(i).Owner, Ended: store.Destroyed}
			_, err := st.Save(ctx, tokens[i], 1, marker)
			must(b, err, "Save (end)")
		}
	}
	b.StopTimer()
	for i, c := range counters {
		b.ReportMetric(float64(c.n.Load()-before[i])/float64(b.N), c.unit)
	}
}

// countingClient counts the commands a rueidis client sends and the round trips it
// makes (a DoMulti pipeline is one).
type countingClient struct {
	rueidis.Client
	cmds, trips atomic.Int64
}

func (c *countingClient) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	c.cmds.Add(1)
	c.trips.Add(1)
	return c.Client.Do(ctx, cmd)
}

func (c *countingClient) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	c.cmds.Add(int64(len(multi)))
	c.trips.Add(1)
	return c.Client.DoMulti(ctx, multi...)
}

// tracedPool returns a pool of its own whose statements are counted.
func tracedPool(b *testing.B) (*pgxpool.Pool, *atomic.Int64) {
	pgPool(b) // skips or fails when PostgreSQL is down
	cfg, err := pgxpool.ParseConfig(pgURL)
	must(b, err, "pgxpool.ParseConfig")
	n := new(atomic.Int64)
	cfg.ConnConfig.Tracer = stmtCounter{n}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	must(b, err, "pgxpool.NewWithConfig")
	b.Cleanup(pool.Close)
	return pool, n
}

// stmtCounter is a pgx tracer that counts statements.
type stmtCounter struct{ n *atomic.Int64 }

func (c stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
