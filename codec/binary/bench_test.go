package binary_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// BenchmarkUnmarshal measures decoding the canonical Profile, as bench's BenchmarkCodec
// does (codec=binary/op=decode): into a new Profile each time.
func BenchmarkUnmarshal(b *testing.B) {
	p := canonical()
	data, err := binary.Codec{}.Marshal(&p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var got profile
		if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
		if got.Name != p.Name {
			b.Fatalf("decoded Name %q, want %q", got.Name, p.Name)
		}
	}
}

// BenchmarkMarshal measures encoding the canonical Profile.
func BenchmarkMarshal(b *testing.B) {
	p := canonical()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (binary.Codec{}).Marshal(&p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalKinds measures decoding a value of every supported kind, maps,
// pointers and times included.
func BenchmarkUnmarshalKinds(b *testing.B) {
	v := fullKinds()
	data, err := binary.Codec{}.Marshal(&v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var got kinds
		if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
			b.Fatal(err)
		}
	}
}
