package pgstore_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
)

// outageModes are the two ways the tests take PostgreSQL away: cut (connections closed
// and refused) and stalled (connections accepted, never answered).
var outageModes = []struct {
	name   string
	outage func(*testenv.Proxy)
}{
	{"mode=cut", (*testenv.Proxy).Cut},
	{"mode=stall", (*testenv.Proxy).Stall},
}

// TestOutageKV takes PostgreSQL away from a pool with pgxpool's default configuration:
// every operation with a one-second deadline fails with an error (never "not found")
// within a few seconds, and once PostgreSQL is back the same keys hold the same
// records.
func TestOutageKV(t *testing.T) {
	t.Parallel()
	for _, mode := range outageModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			pool, p := proxiedPool(t)
			kv := newStore(t, pool, pgstore.Options{}).KVStore.KV
			t.Cleanup(p.Restore) // before newStore's cleanup, which drops the table
			k := key(t)
			rec := record("kept", 1, time.Hour)
			if err := kv.Create(t.Context(), k, rec); err != nil {
				t.Fatal(err)
			}

			mode.outage(p)
			for i := range 3 { // the idle connections, then new ones
				var found bool
				elapsed := bounded(t, func(ctx context.Context) (err error) {
					_, found, err = kv.Get(ctx, k)
					return err
				})
				if found {
					t.Errorf("Get #%d during the outage found the record", i)
				}
				if elapsed > outageBound {
					t.Errorf("Get #%d during the outage took %v, want an error within about its 1s deadline (bound %v)", i, elapsed, outageBound)
				}
			}
			if elapsed := bounded(t, func(ctx context.Context) error {
				return kv.Update(ctx, k, 1, record("lost", 2, time.Hour))
			}); elapsed > outageBound {
				t.Errorf("Update during the outage took %v, want an error within about its 1s deadline (bound %v)", elapsed, outageBound)
			}
			p.Restore()

			got := getEventually(t, kv, k)
			if !sameRecord(got, rec) {
				t.Errorf("Get after the outage = %+v; want %+v", got, rec)
			}
		})
	}
}

// outageBound is how long an operation with a one-second deadline may take before a
// test calls it a hang: liveness, not speed.
const outageBound = 10 * time.Second

// bounded runs op with a one-second deadline, requires it to fail, and returns how
// long it took.
func bounded(t *testing.T, op func(ctx context.Context) error) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	err := op(ctx)
	elapsed := time.Since(start)
	if err == nil {
		t.Error("an operation during the outage succeeded")
	}
	return elapsed
}

// getEventually reads k until the pool has replaced its broken connections, and
// requires it found.
func getEventually(t *testing.T, kv store.KV, k string) store.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		rec, found, err := kv.Get(ctx, k)
		cancel()
		switch {
		case err == nil && found:
			return rec
		case err == nil:
			t.Fatal("Get after the outage: not found")
		case time.Now().After(deadline):
			t.Fatalf("Get after the outage: %v, still after 30s", err)
		}
		time.Sleep(10 * time.Millisecond) // polling, not ordering
	}
}

// TestOutageManager cuts PostgreSQL off, then stalls it, in the middle of HTTP traffic
// through a Manager whose StoreTimeout is one second, over a pool with pgxpool's
// default configuration: every request during the outage gets the ErrorHandler's 503
// within a few seconds, no response resets a session, and once PostgreSQL is back the
// same cookies find their sessions with every acknowledged increment. See
// testenv.Outage.
func TestOutageManager(t *testing.T) {
	t.Parallel()
	newPool(t, nil) // skips or fails without PostgreSQL
	cfg := poolConfig(t)
	target := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	testenv.Outage(t, target, func(t *testing.T, addr string) store.Store {
		return newStore(t, defaultPool(t, addr), pgstore.Options{})
	}, testenv.OutageOptions{})
}

// TestOutageConnectTimeout stalls PostgreSQL before the pool has made a connection,
// then brings it back for new connections only (testenv.Proxy.Resume), as after a
// failover: the connection attempts made during the stall are never answered. Every
// Get fails within about its deadline throughout, and with a connect timeout, as the
// package documentation asks for, the pool connects again once the server is back.
// Without one, those attempts hold every place in the pool, and it never recovers.
func TestOutageConnectTimeout(t *testing.T) {
	t.Parallel()
	direct := newPool(t, nil) // skips or fails without PostgreSQL
	table := uniqueTable()
	k, rec := key(t), record("kept", 1, time.Hour)
	if err := newStore(t, direct, pgstore.Options{Table: table}).KVStore.KV.Create(t.Context(), k, rec); err != nil {
		t.Fatal(err)
	}
	cfg := poolConfig(t)
	p := testenv.NewProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	p.Stall()
	cfg = proxiedConfig(t, p.Addr())
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg) // connects nothing yet
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	t.Cleanup(p.Restore) // first: closes the hung connections, which pool.Close awaits
	kv := mustNew(t, pool, pgstore.Options{Table: table}).KVStore.KV

	for i := range 2 * int(cfg.MaxConns) { // more attempts than the pool has places
		elapsed := bounded(t, func(ctx context.Context) (err error) {
			_, _, err = kv.Get(ctx, k)
			return err
		})
		if elapsed > outageBound {
			t.Errorf("Get #%d during the stall took %v, want an error within about its 1s deadline (bound %v)", i, elapsed, outageBound)
		}
	}
	p.Resume()
	if got := getEventually(t, kv, k); !sameRecord(got, rec) {
		t.Errorf("Get after the stall = %+v, want %+v", got, rec)
	}
}

// proxiedPool returns a pool with the default configuration that reaches PostgreSQL
// through a proxy the test controls.
func proxiedPool(t testing.TB) (*pgxpool.Pool, *testenv.Proxy) {
	t.Helper()
	newPool(t, nil) // skips or fails if PostgreSQL is down
	cfg := poolConfig(t)
	p := testenv.NewProxy(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	return defaultPool(t, p.Addr()), p
}

// defaultPool returns a pool on PG_URL's database at addr (host:port) with pgxpool's
// default configuration: no connect timeout, the default context watcher.
func defaultPool(t testing.TB, addr string) *pgxpool.Pool {
	t.Helper()
	return newPool(t, proxiedConfig(t, addr))
}

// proxiedConfig returns the configuration of a pool on PG_URL's database at addr
// (host:port), otherwise pgxpool's default.
func proxiedConfig(t testing.TB, addr string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgURL)
	if err != nil {
		t.Fatalf("PG_URL %q: %v", pgURL, err)
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Fallbacks = host, uint16(n), nil
	return cfg
}
