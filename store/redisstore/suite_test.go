package redisstore_test

import (
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// configs are the store configurations every suite runs against.
var configs = []struct {
	name string
	opts redisstore.Options
}{
	{"plain", redisstore.Options{}},
	{"cached", redisstore.Options{CacheTTL: time.Minute}},
}

// TestSuites runs the conformance suites against the test Redis, with and without
// client-side caching.
func TestSuites(t *testing.T) {
	t.Parallel()
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			runSuites(t, func(t *testing.T) *redisstore.Store {
				s, _ := newStore(t, cfg.opts)
				return s
			})
		})
	}
}

// runSuites runs storetest.RunKV on the store's KV and storetest.RunManager on the store.
func runSuites(t *testing.T, newStore func(t *testing.T) *redisstore.Store) {
	t.Run("KV", func(t *testing.T) {
		t.Parallel()
		storetest.RunKV(t, func(t *testing.T) store.KV { return newStore(t).KV })
	})
	t.Run("Manager", func(t *testing.T) {
		t.Parallel()
		storetest.RunManager(t, func(t *testing.T) store.Store { return newStore(t) }, storetest.ManagerOptions{})
	})
}
