package binary_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// countCases returns valid records of many shapes and sizes, around the size classes
// of the allocator and the table sizes of maps, for TestMaxAllocCounts.
func countCases(t *testing.T) []boundCase {
	t.Helper()
	var cases []boundCase
	add := func(name string, v any) {
		cases = append(cases, boundCase{name: name, into: reflect.TypeOf(v), data: mustMarshal(t, v)})
	}
	for _, n := range []int{0, 1, 2, 3, 8, 9, 14, 15, 100, 896, 897, 1000, 1792, 1793, 5000, 14336, 20000} {
		m := make(map[uint16]bool, n)
		for i := range n {
			m[uint16(i)] = true
		}
		add(fmt.Sprintf("map[uint16]bool of %d", n), m)
	}
	for _, n := range []int{1, 9, 1000} {
		ms := make(map[string]string, n)
		mp := make(map[uint16]padded120, n)
		mi := make(map[uint16]padded, n)
		for i := range n {
			ms[fmt.Sprint(i)] = "v"
			mp[uint16(i)] = padded120{V: 1}
			mi[uint16(i)] = padded{V: 1}
		}
		add(fmt.Sprintf("map[string]string of %d", n), ms)
		add(fmt.Sprintf("map[uint16]padded120 of %d", n), mp)
		add(fmt.Sprintf("map[uint16]padded of %d", n), mi)
	}
	for _, n := range []int{1, 2, 3, 31, 32, 33, 64, 65, 100, 4095, 4097, 40000} {
		add(fmt.Sprintf("[]int of %d", n), make([]int, n))
		add(fmt.Sprintf("[]*int of %d", n), make([]*int, n))
		add(fmt.Sprintf("[][3]string of %d", n), make([][3]string, n))
		if n <= 100 {
			add(fmt.Sprintf("[]padded120 of %d", n), make([]padded120, n))
			add(fmt.Sprintf("[]padded of %d", n), make([]padded, n))
			ps := make([]*padded120, n)
			for i := range ps {
				ps[i] = &padded120{}
			}
			add(fmt.Sprintf("[]*padded120 of %d", n), ps)
		}
	}
	for _, tc := range append(hostileCases(t), ordinaryCases(t)...) {
		// A valid []bigElem or []*bigElem of more than a few elements decodes to a
		// hundred MiB and more, thirty times over in the bisection: those are left to
		// TestUnmarshalAllocBound, which decodes each once.
		big := tc.into == reflect.TypeFor[[]bigElem]() || tc.into == reflect.TypeFor[[]*bigElem]()
		if (tc.valid || strings.HasSuffix(tc.name, "/valid")) && !(big && len(tc.data) > 100) {
			cases = append(cases, tc)
		}
	}
	return cases
}

// TestMaxAllocCounts checks that what Unmarshal counts against Codec.MaxAlloc covers
// what it allocates: for each record, it finds by bisection the least MaxAlloc under
// which the record decodes, and checks that Unmarshal then allocates at most that, and
// that under one byte less it fails with ErrTooLarge, allocating at most that (and its
// error).
func TestMaxAllocCounts(t *testing.T) {
	// Not parallel: it reads the process's allocation counter.
	for _, tc := range countCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			into := reflect.New(tc.into).Interface()
			decodes := func(limit int) error { return binary.Codec{MaxAlloc: limit}.Unmarshal(tc.data, into) }
			lo, hi := 0, 1<<30 // decodes under hi, not under lo
			if err := decodes(hi); err != nil {
				t.Fatalf("Unmarshal under a limit of 1 GiB: %v", err)
			}
			for hi-lo > 1 {
				mid := lo + (hi-lo)/2
				if decodes(mid) == nil {
					hi = mid
				} else {
					lo = mid
				}
			}
			var err error
			got := allocated(uint64(hi), func() { err = decodes(hi) })
			if err != nil {
				t.Fatalf("Unmarshal under its least limit %d: %v", hi, err)
			}
			if got > uint64(hi) {
				t.Errorf("Unmarshal under its least limit %d allocated %d bytes", hi, got)
			}
			got = allocated(uint64(lo+errorSlack), func() { err = decodes(lo) })
			if !errors.Is(err, binary.ErrTooLarge) {
				t.Errorf("Unmarshal under a limit of %d, one less than its least: error = %v, want ErrTooLarge", lo, err)
			}
			if got > uint64(lo+errorSlack) {
				t.Errorf("Unmarshal under a limit of %d allocated %d bytes before failing", lo, got)
			}
		})
	}
}

// TestTooLarge checks the default limit and MaxAlloc: a record of a type whose values
// take far more memory than their encoding is refused with ErrTooLarge (not
// ErrMalformed) under the default limit, and decodes under a MaxAlloc raised for it.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	data := cat(header(t, new([]arrayOfPadded)), uv(101), rep([]byte{1}, 100*16)) // 6.4 MiB in memory
	for _, c := range []binary.Codec{{}, {MaxAlloc: -1}, {MaxAlloc: 1 << 20}} {
		var got []arrayOfPadded
		err := c.Unmarshal(data, &got)
		if !errors.Is(err, binary.ErrTooLarge) || errors.Is(err, binary.ErrMalformed) {
			t.Errorf("%+v: Unmarshal of %d bytes that take 6.4 MiB: error = %v, want ErrTooLarge", c, len(data), err)
		}
	}
	c := binary.Codec{MaxAlloc: 8 << 20}
	var got []arrayOfPadded
	if err := c.Unmarshal(data, &got); err != nil {
		t.Fatalf("%+v: Unmarshal: %v", c, err)
	}
	if len(got) != 100 || got[99].A[15].V != 1 {
		t.Errorf("%+v: Unmarshal gave %d elements, want 100 with V 1", c, len(got))
	}
	if err := c.Unmarshal(corrupt(data), &got); !errors.Is(err, binary.ErrMalformed) {
		t.Errorf("%+v: Unmarshal of a corrupted record: error = %v, want ErrMalformed", c, err)
	}
}
