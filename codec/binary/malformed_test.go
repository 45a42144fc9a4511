package binary_test

import (
	stdbinary "encoding/binary"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// header returns the 9-byte header the codec writes for records of v's type.
func header(t *testing.T, v any) []byte {
	t.Helper()
	data, err := binary.Codec{}.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data[:9:9]
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func uv(x uint64) []byte { return stdbinary.AppendUvarint(nil, x) }
func zz(x int64) []byte  { return stdbinary.AppendVarint(nil, x) }

type (
	oneBool   struct{ B bool }
	oneInt8   struct{ I int8 }
	oneUint8  struct{ U uint8 }
	oneUint64 struct{ U uint64 }
	oneString struct{ S string }
	oneBytes  struct{ B []byte }
	oneSlice  struct{ L []uint64 }
	onePtr    struct{ P *int }
	oneMap    struct{ M map[string]int }
	oneTime   struct{ T time.Time }
	oneFloat  struct{ F float64 }
	oneArray  struct{ A [4]byte }
)

// TestMalformed checks that Unmarshal rejects corrupted records with ErrMalformed,
// without panicking, for each check the decoder makes.
func TestMalformed(t *testing.T) {
	t.Parallel()
	huge := uv(math.MaxUint64 >> 1)
	cases := []struct {
		name string
		into any
		data []byte
		want string
	}{
		{"empty", new(oneBool), nil, "not a codec/binary record"},
		{"short header", new(oneBool), header(t, oneBool{})[:8], "not a codec/binary record"},
		{"other version", new(oneBool), cat([]byte{2}, header(t, oneBool{})[1:], []byte{0}), "not a codec/binary record"},
		{"JSON", new(oneBool), []byte(`{"B":true}`), "not a codec/binary record"},
		{"no body", new(oneBool), header(t, oneBool{}), "truncated bool"},
		{"trailing byte", new(oneBool), cat(header(t, oneBool{}), []byte{1, 0}), "1 trailing bytes"},
		{"bool 2", new(oneBool), cat(header(t, oneBool{}), []byte{2}), "bool byte"},
		{"int8 overflow", new(oneInt8), cat(header(t, oneInt8{}), zz(128)), "overflows int8"},
		{"int8 underflow", new(oneInt8), cat(header(t, oneInt8{}), zz(-129)), "overflows int8"},
		{"uint8 overflow", new(oneUint8), cat(header(t, oneUint8{}), uv(256)), "overflows uint8"},
		{"varint of 11 bytes", new(oneUint64), cat(header(t, oneUint64{}), []byte(strings.Repeat("\xff", 10)+"\x01")), "overflows 64 bits"},
		{"varint 10th byte > 1", new(oneUint64), cat(header(t, oneUint64{}), []byte(strings.Repeat("\xff", 9)+"\x02")), "overflows 64 bits"},
		{"truncated varint", new(oneUint64), cat(header(t, oneUint64{}), []byte{0x80}), "truncated varint"},
		{"string past end", new(oneString), cat(header(t, oneString{}), uv(5), []byte("abc")), "exceeds the remaining 3 bytes"},
		{"string of 2^63", new(oneString), cat(header(t, oneString{}), huge), "exceeds"},
		{"bytes past end", new(oneBytes), cat(header(t, oneBytes{}), uv(6), []byte("abc")), "exceeds"},
		{"slice of 2^63", new(oneSlice), cat(header(t, oneSlice{}), huge), "exceeds"},
		{"slice past end", new(oneSlice), cat(header(t, oneSlice{}), uv(4), []byte{1, 2}), "exceeds"},
		{"pointer flag 2", new(onePtr), cat(header(t, onePtr{}), []byte{2}), "pointer flag"},
		{"map of 2^63", new(oneMap), cat(header(t, oneMap{}), huge), "exceeds"},
		{"duplicate map key", new(oneMap), cat(header(t, oneMap{}), uv(3), uv(1), []byte("a"), zz(1), uv(1), []byte("a"), zz(2)), "duplicate map key"},
		{"nanoseconds 1e9", new(oneTime), cat(header(t, oneTime{}), zz(0), uv(1e9<<1|1)), "nanoseconds"},
		{"seconds past year 292277026596", new(oneTime), cat(header(t, oneTime{}), zz(math.MaxInt64), uv(1)), "seconds"},
		{"zone offset", new(oneTime), cat(header(t, oneTime{}), zz(0), uv(0), zz(8*24*3600)), "zone offset"},
		{"truncated float", new(oneFloat), cat(header(t, oneFloat{}), []byte{0, 0, 0}), "truncated float"},
		{"truncated array", new(oneArray), cat(header(t, oneArray{}), []byte{1, 2, 3}), "truncated byte array"},
		{"truncated time", new(oneTime), cat(header(t, oneTime{}), zz(0)), "truncated varint"},
		{"bad UnmarshalBinary", new(fuzzT), nil, "unmarshaling"}, // filled in below
	}
	// a netip.Addr whose bytes are 3 long: netip's UnmarshalBinary refuses them
	{
		var v fuzzT
		data, err := binary.Codec{}.Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		// The zero fuzzT ends with the Addr, an empty byte string: replace it by 3 bytes.
		cases[len(cases)-1].data = cat(data[:len(data)-1], uv(3), []byte{1, 2, 3})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := binary.Codec{}.Unmarshal(tc.data, tc.into)
			if !errors.Is(err, binary.ErrMalformed) || errors.Is(err, binary.ErrShapeChanged) {
				t.Fatalf("Unmarshal(%x) error = %v, want ErrMalformed", tc.data, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal(%x) error = %q, want it to contain %q", tc.data, err, tc.want)
			}
		})
	}
}

// TestDepthLimit checks that a record nesting deeper than 10000 pointers is refused,
// and that one at the limit decodes.
func TestDepthLimit(t *testing.T) {
	t.Parallel()
	body := func(levels int) []byte {
		// list{Val: 0, Next: &list{...}}: Val 0, pointer flag 1, per level.
		return cat(header(t, list{}), []byte(strings.Repeat("\x00\x01", levels)), []byte{0, 0})
	}
	var l list
	if err := (binary.Codec{}).Unmarshal(body(10000), &l); err != nil {
		t.Errorf("list 10001 long: %v", err)
	}
	l = list{}
	if err := (binary.Codec{}).Unmarshal(body(10001), &l); !errors.Is(err, binary.ErrMalformed) || !strings.Contains(err.Error(), "levels deep") {
		t.Errorf("list 10002 long: error = %v, want a depth error", err)
	}
}

// TestTruncated checks that every proper prefix of a valid record, and every record
// with one byte corrupted, is handled without panicking, and that prefixes are refused.
func TestTruncated(t *testing.T) {
	t.Parallel()
	v := fullKinds()
	data, err := binary.Codec{}.Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		var got kinds
		if err := (binary.Codec{}).Unmarshal(data[:n], &got); err == nil {
			t.Fatalf("Unmarshal of the first %d of %d bytes succeeded", n, len(data))
		}
	}
	for i := range data {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			c := append([]byte(nil), data...)
			c[i] ^= x
			var got kinds
			_ = binary.Codec{}.Unmarshal(c, &got) // must not panic
		}
	}
}

// TestHugeLengthDoesNotAllocate checks that a length prefix larger than the input is
// refused before memory is allocated for it.
func TestHugeLengthDoesNotAllocate(t *testing.T) {
	// Not parallel: it reads the process's allocation counter.
	data := cat(header(t, oneSlice{}), uv(1<<40))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		var v oneSlice
		if err := (binary.Codec{}).Unmarshal(data, &v); err == nil {
			t.Fatal("Unmarshal of a slice of 2^40 elements in 2 bytes succeeded")
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("100 refused records allocated %d bytes", d)
	}
}
