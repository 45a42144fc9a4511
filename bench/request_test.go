package bench

import (
	"testing"

	"github.com/seed96b21533/typedsession/bench/workload"
)

// BenchmarkRequest measures the five requests of the workload through our Manager on
// each backend, sequentially (one session) and in parallel (64 sessions), with the
// canonical 440-byte Profile. backend=noop is harness-noop: the same router, recorder
// and checks with a session layer that does nothing. backend=redis-replica and
// backend=redis-wait1 run on a master with a replica of their own, by default and
// with every write waiting for the replica.
func BenchmarkRequest(b *testing.B) {
	for _, be := range []workload.Backend{memory, memoryGojson, memoryBinary, redis, redisReplica, redisWait1, postgres, mongodb, cookie, cookieGojson, cookieBinary, workload.Noop} {
		b.Run("backend="+be.Name, func(b *testing.B) {
			workload.Bench(b, be, workload.Ops, workload.Canonical())
		})
	}
}

// BenchmarkSize measures read and write as the Profile grows (its Cart repeated): up
// to 64 KiB on the server stores, and up to what fits a 4096-byte cookie on the cookie
// store.
func BenchmarkSize(b *testing.B) {
	workload.BenchSizes(b, []workload.SizeCase{
		{Backend: memory, Sizes: workload.ServerSizes},
		{Backend: memoryBinary, Sizes: workload.ServerSizes},
		{Backend: redis, Sizes: workload.ServerSizes},
		{Backend: postgres, Sizes: workload.ServerSizes},
		{Backend: mongodb, Sizes: workload.ServerSizes},
		{Backend: cookie, Sizes: workload.CookieSizes},
	})
}
