package redisstore_test

import (
	"testing"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
)

// TestOutage cuts Redis off, then stalls it (a proxy the test controls), in the middle
// of traffic through a Manager whose StoreTimeout is one second, over a client with
// rueidis's default options (which retry reads): every request during the outage gets
// the ErrorHandler's 503 within a few seconds, no response resets a session, and once
// Redis is back the same cookies find their sessions with every acknowledged
// increment. See testenv.Outage. With client-side caching, a read during the outage may
// be served from the cache, with the session as last written.
func TestOutage(t *testing.T) {
	t.Parallel()
	dial(t, rueidis.ClientOption{}) // skips or fails without Redis
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			t.Parallel()
			testenv.Outage(t, redisAddr(), func(t *testing.T, addr string) store.Store {
				c := dial(t, rueidis.ClientOption{InitAddress: []string{addr}})
				return newStoreOn(t, c, cfg.opts)
			}, testenv.OutageOptions{CachedReads: cfg.opts.CacheTTL > 0})
		})
	}
}
