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
	cases := []struct {
		be    workload.Backend
		sizes []workload.Size
	}{
		{scsMemory, workload.ServerSizes},
		{scsRedis, workload.ServerSizes},
		{scsPostgres, workload.ServerSizes},
		{gorillaCookie, workload.CookieSizes},
	}
	for _, c := range cases {
		b.Run("backend="+c.be.Name, func(b *testing.B) {
			for _, size := range c.sizes {
				b.Run("size="+size.Name, func(b *testing.B) {
					workload.Bench(b, c.be, []workload.Op{workload.OpRead, workload.OpWrite}, workload.Sized(size), workload.Seq)
				})
			}
		})
	}
}
