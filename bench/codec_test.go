package bench

import (
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/codec/gojson"
)

// BenchmarkCodec measures the codecs on their own, on the canonical Profile: json is
// the default (encoding/json), gojson the fast codec, binary codec/binary. Each runs
// sequentially (mode=seq) and under b.RunParallel (mode=par), as BenchmarkRequest does,
// so that the report can take a codec's cost out of a request's in the same mode.
// Decode decodes into a zeroed Profile each time, as the Manager does.
func BenchmarkCodec(b *testing.B) {
	p := workload.Canonical()
	for _, c := range []struct {
		name  string
		codec typedsession.Codec
	}{
		{"json", typedsession.JSON{}},
		{"gojson", gojson.Codec{}},
		{"binary", binaryCodec},
	} {
		data, err := c.codec.Marshal(&p)
		must(b, err, "%s: Marshal", c.name)
		encode := func() error {
			_, err := c.codec.Marshal(&p)
			return err
		}
		decode := func() error {
			var got workload.Profile
			if err := c.codec.Unmarshal(data, &got); err != nil {
				return err
			}
			if got.Name != p.Name {
				b.Errorf("decoded Name %q, want %q", got.Name, p.Name)
			}
			return nil
		}
		for _, op := range []struct {
			name string
			fn   func() error
		}{{"encode", encode}, {"decode", decode}} {
			for _, mode := range workload.Modes {
				b.Run("codec="+c.name+"/op="+op.name+"/mode="+string(mode), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(len(data)))
					runCodec(b, op.fn, mode)
				})
			}
		}
	}
}

func runCodec(b *testing.B, fn func() error, mode workload.Mode) {
	switch mode {
	case workload.Seq:
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
	case workload.Par:
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}
