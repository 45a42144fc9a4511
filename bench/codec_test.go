package bench

import (
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/codec/gojson"
)

// BenchmarkCodec measures the codecs on their own, on the canonical Profile: json is
// the default (encoding/json), gojson the fast codec.
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
		b.Run("codec="+c.name+"/op=encode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.codec.Marshal(&p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("codec="+c.name+"/op=decode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var got workload.Profile
				if err := c.codec.Unmarshal(data, &got); err != nil {
					b.Fatal(err)
				}
				if got.Name != p.Name {
					b.Fatalf("decoded Name %q, want %q", got.Name, p.Name)
				}
			}
		})
	}
}
