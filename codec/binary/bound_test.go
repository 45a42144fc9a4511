package binary_test

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// The bound of the package documentation ("Hostile input"): by default, one Unmarshal
// allocates at most allocPerByte bytes per byte of the record plus allocSlack, besides
// the error it returns, allowed errorSlack here.
const (
	allocPerByte = 64
	allocSlack   = 16 << 10
	errorSlack   = 1 << 10
)

func allocBound(n int) uint64 { return uint64(allocPerByte*n + allocSlack + errorSlack) }

// Types whose values take far more memory than their encoding: what a hostile record
// aims at, and what a legitimate one may be, too.
type (
	// bigElem takes 1 MiB of memory, of which one int is stored: the shape of the issue.
	bigElem struct {
		ID int
		_  [1 << 20]byte
	}
	// padded takes 4 KiB of memory for one stored byte.
	padded struct {
		V     uint8
		Cache [4 << 10]byte `session:"-"`
	}
	// padded120 is small enough for a map to hold it in its hash table.
	padded120 struct {
		V uint8
		_ [120]byte
	}
	arrayOfPadded struct{ A [16]padded } // 64 KiB for 16 bytes
	chain         struct {
		V    uint8
		_    [4 << 10]byte
		Next *chain
	}
	// manySlices holds slices that each fit the limit of a small record, but not all.
	manySlices struct{ A, B, C, D, E, F, G, H []padded }
)

// allocated runs f, which allocates the same each time, until it allocates at most
// bound bytes, three times at most, and returns the least it allocated: another
// goroutine (the testing package's, the runtime's) may allocate during one run.
func allocated(bound uint64, f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
		if least <= bound {
			break
		}
	}
	return least
}

func rep(b []byte, n int) []byte { return bytes.Repeat(b, n) }

// corrupt returns data with its last byte replaced by a varint continuation byte: the
// record ends in the middle of a varint, after all its allocations were made.
func corrupt(data []byte) []byte {
	c := bytes.Clone(data)
	c[len(c)-1] = 0x80
	return c
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := binary.Codec{}.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type boundCase struct {
	name  string
	into  reflect.Type // Unmarshal decodes into a new value of this type
	data  []byte
	valid bool // the record is ordinary: it must decode, within the default limit
}

// hostileCases returns records of types whose values take much more memory than
// their encoding, each valid and corrupted at its end.
func hostileCases(t *testing.T) []boundCase {
	t.Helper()
	var many []byte
	for range 8 {
		many = cat(many, uv(5), rep([]byte{0}, 4))
	}
	var chainBody []byte
	for range 200 {
		chainBody = append(chainBody, 0, 1) // V, then a non-nil Next
	}
	chainBody = append(chainBody, 0, 0)
	var mapBody []byte
	for k := range 200 {
		mapBody = cat(mapBody, uv(uint64(k)), []byte{0})
	}
	records := []struct {
		name string
		zero any // a value of the type
		body []byte
	}{
		{"[]bigElem of 300 in 311 bytes", []bigElem(nil), cat(uv(301), rep([]byte{0}, 300))},
		{"[]*bigElem of 1 in 12 bytes", []*bigElem(nil), cat(uv(2), []byte{1, 0})},
		{"[]*bigElem of 100", []*bigElem(nil), cat(uv(101), rep([]byte{1, 0}, 100))},
		{"*bigElem", (*bigElem)(nil), []byte{1, 0}},
		{"[]arrayOfPadded", []arrayOfPadded(nil), cat(uv(101), rep([]byte{0}, 100*16))},
		{"[][]padded", [][]padded(nil), cat(uv(201), rep([]byte{2, 0}, 200))},
		{"map[uint16]padded", map[uint16]padded(nil), cat(uv(201), mapBody)},
		{"[]map[uint8]padded120", []map[uint8]padded120(nil), cat(uv(201), rep([]byte{2, 0, 0}, 200))},
		{"*chain of 200", (*chain)(nil), cat([]byte{1}, chainBody)},
		{"manySlices", manySlices{}, many},
	}
	var cases []boundCase
	for _, r := range records {
		typ := reflect.TypeOf(r.zero)
		data := cat(header(t, reflect.New(typ).Interface()), r.body)
		cases = append(cases,
			boundCase{name: r.name + "/valid", into: typ, data: data},
			boundCase{name: r.name + "/corrupted", into: typ, data: corrupt(data)},
			boundCase{name: r.name + "/truncated", into: typ, data: data[:len(data)-1]})
	}
	return cases
}

// ordinaryCases returns valid records of ordinary types, some with the most memory per
// encoded byte that such types take.
func ordinaryCases(t *testing.T) []boundCase {
	t.Helper()
	many := func(n int, v any) any { // a slice of n copies of v
		s := reflect.MakeSlice(reflect.SliceOf(reflect.TypeOf(v)), n, n)
		for i := range n {
			s.Index(i).Set(reflect.ValueOf(v))
		}
		return s.Interface()
	}
	times := make([]time.Time, 500)
	for i := range times {
		// odd offsets, most of them made anew, as the zone cache is small
		times[i] = time.Unix(int64(i), 0).In(time.FixedZone("", 60*(i+1)))
	}
	bigMap := map[uint16]bool{}
	for i := range 3000 {
		bigMap[uint16(i)] = i%2 == 0
	}
	smallMaps := make([]map[string]string, 200)
	for i := range smallMaps {
		smallMaps[i] = map[string]string{"k": fmt.Sprint(i)}
	}
	values := []struct {
		name string
		v    any
	}{
		{"profile", canonical()},
		{"all kinds", fullKinds()},
		{"2000 empty slices", many(2000, []int{})},
		{"2000 nil slices", many(2000, []int(nil))},
		{"2000 empty strings", many(2000, "")},
		{"1000 empty maps", many(1000, map[string]int{})},
		{"200 maps of one entry", smallMaps},
		{"map of 3000", bigMap},
		{"1000 pointers", many(1000, ptr(1))},
		{"500 times in odd zones", times},
		{"a string of 1 MiB", string(rep([]byte("x"), 1<<20))},
		{"padded", []padded{{V: 1}, {V: 2}}},
	}
	var cases []boundCase
	for _, v := range values {
		cases = append(cases, boundCase{name: v.name, into: reflect.TypeOf(v.v), data: mustMarshal(t, v.v), valid: true})
	}
	return cases
}

// TestUnmarshalAllocBound checks the bound of the package documentation: whatever the
// record, valid or not, one Unmarshal allocates at most 64 bytes per byte of it plus
// 16 KiB (and its error), including records of types that take far more memory than
// their encoding; and ordinary records decode within it.
func TestUnmarshalAllocBound(t *testing.T) {
	// Not parallel: it reads the process's allocation counter.
	cases := append(hostileCases(t), ordinaryCases(t)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			into := reflect.New(tc.into).Interface()
			var err error
			unmarshal := func() { err = binary.Codec{}.Unmarshal(tc.data, into) }
			unmarshal() // builds the plan of the type, which is not counted
			bound := allocBound(len(tc.data))
			if got := allocated(bound, unmarshal); got > bound {
				t.Errorf("Unmarshal of %d bytes allocated %d bytes, want at most %d (error: %v)", len(tc.data), got, bound, err)
			}
			if tc.valid && err != nil {
				t.Errorf("Unmarshal of an ordinary record: %v", err)
			}
		})
	}
}
