package bench

import (
	"context"
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/codec/gojson"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// layer puts a typedsession Manager over store, as an application would.
func layer(tb testing.TB, st store.Store, cfg workload.Config, codec typedsession.Codec, serverSide bool) workload.Layer {
	tb.Helper()
	cs := &storetest.Counting{Store: st}
	m, err := typedsession.New[workload.Profile](cs, typedsession.Options{
		Insecure:    true,
		IdleTimeout: cfg.IdleTimeout,
		Codec:       codec,
	})
	must(tb, err, "typedsession.New")
	return workload.Layer{
		Middleware: m.Handler,
		Read: func(r *http.Request) (workload.Profile, error) {
			return m.Get(r.Context())
		},
		IncrCounter: func(_ http.ResponseWriter, r *http.Request) (int, error) {
			var n int
			err := m.Update(r.Context(), func(p *workload.Profile) error {
				p.Counter++
				n = p.Counter
				return nil
			})
			return n, err
		},
		New: func(_ http.ResponseWriter, r *http.Request, p workload.Profile) error {
			return m.Put(r.Context(), p)
		},
		ServerSide: serverSide,
		StoreCalls: cs.Total,
		Lazy:       true,
	}
}

// Our backends. The -gojson variants use the fast codec; the others the default JSON.
var (
	memory       = memoryBackend("memory", nil)
	memoryGojson = memoryBackend("memory-gojson", gojson.Codec{})
	cookie       = cookieBackend("cookie", nil)
	cookieGojson = cookieBackend("cookie-gojson", gojson.Codec{})

	redis = workload.Backend{Name: "redis", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		client := redisClient(tb)
		st, err := redisstore.New(client, redisstore.Options{Prefix: redisPrefix(tb, client, "redisstore")})
		must(tb, err, "redisstore.New")
		return layer(tb, st, cfg, nil, true)
	}}

	// redis-replica and redis-wait1 run on a master with one replica, both started for
	// the benchmark on free loopback ports (the shared Redis has no replica): the
	// default store, and the store that waits for the replica on every write
	// (Options.WaitReplicas 1). Their difference is the price of durable writes.
	redisReplica = redisReplicated("redis-replica", redisstore.Options{})
	redisWait1   = redisReplicated("redis-wait1", redisstore.Options{WaitReplicas: 1})

	postgres = workload.Backend{Name: "postgres", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		pool := pgPool(tb)
		st, err := pgstore.New(pool, pgstore.Options{Table: pgTable(tb, pool, "pgstore")})
		must(tb, err, "pgstore.New")
		must(tb, st.Migrate(context.Background()), "pgstore.Migrate")
		return layer(tb, st, cfg, nil, true)
	}}
)

func redisReplicated(name string, opts redisstore.Options) workload.Backend {
	return workload.Backend{Name: name, Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		st, err := redisstore.New(redisWithReplica(tb), opts)
		must(tb, err, "redisstore.New")
		return layer(tb, st, cfg, nil, true)
	}}
}

var mongodb = workload.Backend{Name: "mongo", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
	st, err := mongostore.New(mongoCollection(tb, mongoClient(tb), "mongostore"), mongostore.Options{})
	must(tb, err, "mongostore.New")
	// The indexes, and the write mode settled; no cleanup goroutine during timing.
	_, err = st.Setup(context.Background())
	must(tb, err, "mongostore.Setup")
	return layer(tb, st, cfg, nil, true)
}}

func memoryBackend(name string, codec typedsession.Codec) workload.Backend {
	return workload.Backend{Name: name, Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		// No cleanup goroutine: memstore starts none unless asked (StartCleanup).
		st, err := memstore.New(memstore.Options{})
		must(tb, err, "memstore.New")
		return layer(tb, st, cfg, codec, true)
	}}
}

func cookieBackend(name string, codec typedsession.Codec) workload.Backend {
	return workload.Backend{Name: name, Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		key := make([]byte, 32)
		rand.Read(key)
		st, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
		must(tb, err, "cookiestore.New")
		return layer(tb, st, cfg, codec, false)
	}}
}
