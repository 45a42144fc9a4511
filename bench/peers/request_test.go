package peers

import (
	"testing"

	"github.com/seed96b21533/typedsession/bench/workload"
)

// BenchmarkRequest measures the five requests of the workload through the peers, named
// as bench.BenchmarkRequest names ours so that one table holds both.
func BenchmarkRequest(b *testing.B) {
	for _, be := range []workload.Backend{scsMemory, scsRedis, scsPostgres, gorillaCookie} {
		b.Run("backend="+be.Name, func(b *testing.B) {
			workload.Bench(b, be, workload.Ops, workload.Canonical())
		})
	}
}

// BenchmarkSize is bench.BenchmarkSize on the peers.
func BenchmarkSize(b *testing.B) {
	workload.BenchSizes(b, []workload.SizeCase{
		{Backend: scsMemory, Sizes: workload.ServerSizes},
		{Backend: scsRedis, Sizes: workload.ServerSizes},
		{Backend: scsPostgres, Sizes: workload.ServerSizes},
		{Backend: gorillaCookie, Sizes: workload.CookieSizes},
	})
}
