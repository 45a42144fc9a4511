package binary_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/bench/workload"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// The canonical payload of the benchmark workload.
type (
	item    = workload.Item
	profile = workload.Profile
)

func canonical() profile { return workload.Canonical() }

type (
	myInt    int16
	myString string
	myBytes  []byte
	myByte   uint8
)

type kinds struct {
	B                                 bool
	I                                 int
	I8                                int8
	I16                               int16
	I32                               int32
	I64                               int64
	U                                 uint
	U8                                uint8
	U16                               uint16
	U32                               uint32
	U64                               uint64
	UP                                uintptr
	F32                               float32
	F64                               float64
	C64                               complex64
	C128                              complex128
	S                                 string
	Bytes                             []byte
	Arr                               [3]int
	ByteArr                           [4]byte
	NamedByteArr                      [2]myByte
	NamedBytes                        []myByte
	Named                             myInt
	NamedS                            myString
	NamedB                            myBytes
	Strs                              []string
	Nested                            [][]int
	Map                               map[string]int
	IntMap                            map[int64]string
	StructKey                         map[item]bool
	ArrKey                            map[[2]int]float64
	Set                               map[string]struct{}
	MapOfSlices                       map[string][]item
	Ptr                               *int
	PtrPtr                            **string
	PtrStruct                         *item
	Embedded                          item
	Anon                              struct{ A, B string }
	Empty                             struct{}
	Skipped                           string `session:"-"`
	unexported                        string // must not be stored
	T                                 time.Time
	Addr                              netip.Addr // BinaryMarshaler, value receiver
	Big                               *big.Int   // TextMarshaler, pointer receiver
	Bin                               pointerBin // BinaryMarshaler, pointer receiver
	BinMap                            map[string]pointerBin
	ArrayOfStructs                    [2]item
	Floats                            []float64
	Times                             []time.Time
	PtrSlice                          []*item
	SliceOfMaps                       []map[string]int
	Deep                              map[string]map[string][]*[]string
	AlsoEmpty                         []item
	AlsoNil                           []item
	EmptyMap, NilMap                  map[string]int
	EmptyBytes, NilBytes              []byte
	NilPtr                            *item
	NilBig                            *big.Int
	MaxI, MinI                        int64
	MaxU                              uint64
	MaxI8, MinI8                      int8
	Inf, NegInf, NegZero, Tiny, Large float64
}

// pointerBin implements encoding.BinaryMarshaler on its pointer only, and stores its
// unexported state through it.
type pointerBin struct{ secret string }

func (p *pointerBin) MarshalBinary() ([]byte, error) { return []byte("<" + p.secret + ">"), nil }
func (p *pointerBin) UnmarshalBinary(b []byte) error {
	s, ok := strings.CutPrefix(string(b), "<")
	if s, ok2 := strings.CutSuffix(s, ">"); ok && ok2 {
		p.secret = s
		return nil
	}
	return fmt.Errorf("bad pointerBin %q", b)
}

type list struct {
	Val  int
	Next *list
}

type tree struct {
	Name string
	Kids []tree
	Meta map[string]*tree
}

// mutual recursion through two types
type (
	even struct{ Odd *odd }
	odd  struct {
		Even *even
		N    int
	}
)

func ptr[T any](v T) *T { return &v }

func fullKinds() kinds {
	s := "pp"
	return kinds{
		B: true, I: -1, I8: -8, I16: 1600, I32: -32, I64: 1 << 40, U: 1, U8: 255, U16: 65535,
		U32: 1 << 31, U64: 1 << 63, UP: 77, F32: 1.5, F64: math.Pi, C64: complex(1, -2),
		C128: complex(math.E, math.MaxFloat64), S: "héllo, 世界 \x00\xff",
		Bytes: []byte{0, 1, 0xff}, Arr: [3]int{-1, 0, 1}, ByteArr: [4]byte{1, 2, 3, 4},
		NamedByteArr: [2]myByte{9, 8}, NamedBytes: []myByte{7}, Named: -3, NamedS: "n",
		NamedB: myBytes("nb"), Strs: []string{"", "a", strings.Repeat("z", 300)},
		Nested: [][]int{{1}, {}, nil, {2, 3}}, Map: map[string]int{"b": 2, "a": 1, "": 0},
		IntMap:      map[int64]string{-1: "minus", 1 << 50: "big"},
		StructKey:   map[item]bool{{SKU: "x", Qty: 1, PriceCents: 2}: true, {}: false},
		ArrKey:      map[[2]int]float64{{1, 2}: 0.5},
		Set:         map[string]struct{}{"x": {}, "y": {}},
		MapOfSlices: map[string][]item{"k": {{SKU: "a", Qty: 1, PriceCents: 1}}, "nil": nil},
		Ptr:         ptr(42), PtrPtr: ptr(&s), PtrStruct: &item{SKU: "p", Qty: 1, PriceCents: 2},
		Embedded: item{SKU: "e", Qty: 3, PriceCents: 4}, Anon: struct{ A, B string }{"a", "b"},
		T:    time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("", 5*3600+1800)),
		Addr: netip.MustParseAddr("2001:db8::1"), Big: new(big.Int).Lsh(big.NewInt(1), 100),
		Bin: pointerBin{"s3cr3t"}, BinMap: map[string]pointerBin{"a": {"A"}, "b": {"B"}},
		ArrayOfStructs: [2]item{{SKU: "x", Qty: 1, PriceCents: 1}, {SKU: "y", Qty: 2, PriceCents: 2}},
		Floats:         []float64{0, -1, math.SmallestNonzeroFloat64},
		Times:          []time.Time{{}, time.Unix(0, 1).UTC(), time.Date(1, 1, 1, 0, 0, 0, 0, time.FixedZone("", -3600))},
		PtrSlice:       []*item{nil, {SKU: "q", Qty: 1, PriceCents: 1}},
		SliceOfMaps:    []map[string]int{nil, {}, {"x": 1}},
		Deep:           map[string]map[string][]*[]string{"a": {"b": {nil, ptr([]string{"c"})}}},
		AlsoEmpty:      []item{}, EmptyMap: map[string]int{}, EmptyBytes: []byte{},
		MaxI: math.MaxInt64, MinI: math.MinInt64, MaxU: math.MaxUint64,
		MaxI8: math.MaxInt8, MinI8: math.MinInt8,
		Inf: math.Inf(1), NegInf: math.Inf(-1), NegZero: math.Copysign(0, -1),
		Tiny: math.SmallestNonzeroFloat64, Large: math.MaxFloat64,
	}
}

// roundTrip marshals v, unmarshals the bytes into a new value of v's type, and
// returns that value and the bytes.
func roundTrip(t *testing.T, v any) (any, []byte) {
	t.Helper()
	data, err := binary.Codec{}.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%T) error: %v", v, err)
	}
	typ := reflect.TypeOf(v)
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	got := reflect.New(typ)
	if err := (binary.Codec{}).Unmarshal(data, got.Interface()); err != nil {
		t.Fatalf("Unmarshal(Marshal(%T)) error: %v", v, err)
	}
	return got.Elem().Interface(), data
}

// TestRoundTrip checks, over every supported kind, that decoding what Marshal wrote
// gives back a value reflect.DeepEqual to the original, and that encoding is
// deterministic (the same value always gives the same bytes, maps included).
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	long := &list{Val: 0}
	for i := 1; i < 500; i++ {
		long = &list{Val: i, Next: long}
	}
	wantCut := fullKinds()
	wantCut.Skipped, wantCut.unexported = "", ""
	withCut := fullKinds()
	withCut.Skipped, withCut.unexported = "skipped", "unexported"
	cases := []struct {
		name string
		v    any // the value, or a pointer to it
		want any // what decodes, if not v
	}{
		{"profile", canonical(), nil},
		{"profile pointer", ptr(canonical()), canonical()},
		{"zero profile", profile{}, nil},
		{"all kinds", fullKinds(), nil},
		{"zero kinds", kinds{}, nil},
		{"skipped and unexported fields", withCut, wantCut},
		{"list", &list{1, &list{2, &list{3, nil}}}, list{1, &list{2, &list{3, nil}}}},
		{"long list", long, *long},
		{"tree", tree{Name: "root", Kids: []tree{{Name: "a"}, {Name: "b", Kids: []tree{{Name: "c"}}}},
			Meta: map[string]*tree{"x": {Name: "x", Meta: map[string]*tree{"n": nil}}}}, nil},
		{"mutual recursion", even{&odd{&even{&odd{nil, 2}}, 1}}, nil},
		{"pointer root", ptr(ptr(7)), ptr(7)},
		{"nil pointer root", ptr((*int)(nil)), (*int)(nil)},
		{"string root", "just a string", nil},
		{"large string", strings.Repeat("é", 1<<20), nil},
		{"slice root", []int{1, 2, 3}, nil},
		{"nil slice root", []int(nil), nil},
		{"empty slice root", []int{}, nil},
		{"map root", map[string]int{"a": 1}, nil},
		{"array of bytes", [32]byte{1: 1, 31: 31}, nil},
		{"struct{}", struct{}{}, nil},
		{"time root", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"netip", netip.MustParseAddrPort("[::1]:80"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := tc.want
			if want == nil {
				want = tc.v
			}
			got, data := roundTrip(t, tc.v)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
			}
			for range 5 { // map iteration order varies between runs
				again, err := binary.Codec{}.Marshal(tc.v)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, data) {
					t.Fatalf("Marshal is not deterministic:\n%x\n%x", again, data)
				}
			}
		})
	}
}

// TestNilAndEmpty checks the promise of the doc: nil and empty slices, maps and
// []byte are told apart, and nil pointers stay nil.
func TestNilAndEmpty(t *testing.T) {
	t.Parallel()
	got, _ := roundTrip(t, fullKinds())
	k := got.(kinds)
	for _, c := range []struct {
		name     string
		isNil    bool
		wantNil  bool
		isLenNil bool
	}{
		{"AlsoEmpty", k.AlsoEmpty == nil, false, len(k.AlsoEmpty) == 0},
		{"AlsoNil", k.AlsoNil == nil, true, true},
		{"EmptyMap", k.EmptyMap == nil, false, len(k.EmptyMap) == 0},
		{"NilMap", k.NilMap == nil, true, true},
		{"EmptyBytes", k.EmptyBytes == nil, false, len(k.EmptyBytes) == 0},
		{"NilBytes", k.NilBytes == nil, true, true},
		{"NilPtr", k.NilPtr == nil, true, true},
		{"NilBig", k.NilBig == nil, true, true},
		{"Nested[2]", k.Nested[2] == nil, true, true},
		{"Nested[1]", k.Nested[1] == nil, false, len(k.Nested[1]) == 0},
	} {
		if c.isNil != c.wantNil || !c.isLenNil {
			t.Errorf("%s: nil = %v, want %v (len 0: %v)", c.name, c.isNil, c.wantNil, c.isLenNil)
		}
	}
}

// TestFloats checks that float bits survive: NaN (with its payload), infinities, -0.
func TestFloats(t *testing.T) {
	t.Parallel()
	type floats struct {
		F64 []float64
		F32 []float32
		C   complex128
	}
	nan := math.Float64frombits(0x7ff8_0000_dead_beef)
	in := floats{
		F64: []float64{nan, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64},
		F32: []float32{float32(math.NaN()), float32(math.Inf(-1)), math.MaxFloat32, math.SmallestNonzeroFloat32},
		C:   complex(math.NaN(), math.Inf(1)),
	}
	got, _ := roundTrip(t, in)
	out := got.(floats)
	for i := range in.F64 {
		if a, b := math.Float64bits(in.F64[i]), math.Float64bits(out.F64[i]); a != b {
			t.Errorf("F64[%d] bits = %#x, want %#x", i, b, a)
		}
	}
	for i := range in.F32 {
		if a, b := math.Float32bits(in.F32[i]), math.Float32bits(out.F32[i]); a != b {
			t.Errorf("F32[%d] bits = %#x, want %#x", i, b, a)
		}
	}
	if !math.IsNaN(real(out.C)) || !math.IsInf(imag(out.C), 1) {
		t.Errorf("C = %v, want (NaN+Inf i)", out.C)
	}
}

// TestTime checks what the doc promises of time.Time: the instant survives to the
// nanosecond, UTC stays UTC, other zones become a fixed zone with the same offset and
// no name, and the monotonic reading is dropped.
func TestTime(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	cases := []struct {
		name    string
		in      time.Time
		wantLoc string // "UTC", or "" for an unnamed fixed zone
	}{
		{"utc", time.Date(2025, 3, 14, 15, 9, 26, 535e6, time.UTC), "UTC"},
		{"zero", time.Time{}, "UTC"},
		{"named zone", time.Date(2025, 7, 1, 12, 0, 0, 1, cet), ""},
		{"half hour", time.Date(2025, 7, 1, 12, 0, 0, 0, time.FixedZone("IST", 5*3600+1800)), ""},
		{"negative quarter", time.Date(1969, 12, 31, 23, 59, 59, 999, time.FixedZone("", -(9*3600+45*60))), ""},
		{"now", time.Now(), ""},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "UTC"},
		{"far past", time.Date(-9999, 1, 1, 0, 0, 0, 0, time.UTC), "UTC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := roundTrip(t, tc.in)
			out := got.(time.Time)
			if !out.Equal(tc.in) {
				t.Errorf("got %v, want an instant Equal to %v", out, tc.in)
			}
			_, wantOff := tc.in.Zone()
			name, off := out.Zone()
			if off != wantOff {
				t.Errorf("offset = %d, want %d", off, wantOff)
			}
			if tc.wantLoc == "UTC" && out.Location() != time.UTC {
				t.Errorf("location = %v, want UTC", out.Location())
			}
			if tc.wantLoc == "" && out.Location().String() != "" {
				t.Errorf("location = %q, want an unnamed fixed zone (zone name %q)", out.Location(), name)
			}
			if out.String() != out.Round(0).String() {
				t.Errorf("monotonic reading kept: %v", out)
			}
			if tc.in.IsZero() != out.IsZero() {
				t.Errorf("IsZero = %v, want %v", out.IsZero(), tc.in.IsZero())
			}
		})
	}
}

// TestUnmarshalZeroes checks that Unmarshal replaces the whole target, even one that
// is not zero (the Manager passes a zero one; a caller might not).
func TestUnmarshalZeroes(t *testing.T) {
	t.Parallel()
	data, err := binary.Codec{}.Marshal(&profile{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	got := canonical()
	if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, profile{Name: "new"}) {
		t.Errorf("Unmarshal into a non-zero value = %+v, want only Name set", got)
	}
}

// TestSize checks that the canonical Profile is much smaller than its JSON (441 bytes).
func TestSize(t *testing.T) {
	p := canonical()
	data, err := binary.Codec{}.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 200 {
		t.Errorf("canonical Profile encodes to %d bytes, want at most 200", len(data))
	}
}

// TestDecodeAllocs checks the allocation promise of the doc on the canonical Profile:
// one copy of the record for all strings, one per slice, nothing else.
func TestDecodeAllocs(t *testing.T) {
	p := canonical()
	data, err := binary.Codec{}.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	var got profile
	allocs := testing.AllocsPerRun(100, func() {
		got = profile{}
		if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 {
		t.Errorf("Unmarshal of the canonical Profile: %v allocations, want 3 (strings, Roles, Cart)", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := (binary.Codec{}).Marshal(&p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Marshal of the canonical Profile: %v allocations, want 1", allocs)
	}
}

// TestEmptyDecodeAllocs checks that an empty slice takes no allocation to decode, and
// an empty map one (the map itself).
func TestEmptyDecodeAllocs(t *testing.T) {
	slices, maps := make([][]int, 100), make([]map[string]int, 100)
	for i := range 100 {
		slices[i], maps[i] = []int{}, map[string]int{}
	}
	cases := []struct {
		name string
		v    any
		want float64
	}{
		{"100 empty slices", slices, 1},
		{"100 empty maps", maps, 101},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := binary.Codec{}.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(tc.v)).Interface()
			allocs := testing.AllocsPerRun(100, func() {
				if err := (binary.Codec{}).Unmarshal(data, got); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != tc.want {
				t.Errorf("Unmarshal of %s: %v allocations, want %v", tc.name, allocs, tc.want)
			}
		})
	}
}

// TestUnsupported checks that unsupported types fail on first use with an error that
// names the field, on Marshal and Unmarshal alike, rather than panicking or storing
// nothing.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	type Foo struct {
		OK  int
		Bar any
	}
	type withStringer struct{ S fmt.Stringer }
	type withChan struct{ C chan int }
	type withFunc struct{ F func() }
	type ptrKey struct{ M map[*int]int }
	type emptyElems struct{ E []struct{} }
	type hidden struct{ x int }
	type withHidden struct{ H hidden }
	type nested struct{ In []map[string]Foo }
	type base struct{ ID int }
	type withBase struct {
		base
		Name string
	}
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"interface field", Foo{}, "codec/binary: interface fields are not supported: Foo.Bar"},
		{"named interface", withStringer{}, "interface fields are not supported: withStringer.S"},
		{"nested interface", nested{}, "interface fields are not supported: Foo.Bar"},
		{"interface root", new(any), "interface fields are not supported: interface {}"},
		{"chan", withChan{}, "chan values are not supported: withChan.C"},
		{"func", withFunc{}, "func values are not supported: withFunc.F"},
		{"pointer key", ptrKey{}, "map keys of pointer type are not supported: ptrKey.M"},
		{"zero-size elements", emptyElems{}, "encode to no bytes are not supported: emptyElems.E"},
		{"only unexported", withHidden{H: hidden{x: 1}}, "has only unexported fields"},
		{"unexported embedded", withBase{base{1}, "n"}, "embedded unexported struct binary_test.base has exported fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := binary.Codec{}.Marshal(tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Marshal(%T) error = %v, want one containing %q", tc.v, err, tc.want)
			}
			target := reflect.New(reflect.TypeOf(tc.v)).Interface()
			if reflect.TypeOf(tc.v).Kind() == reflect.Pointer {
				target = tc.v
			}
			err = binary.Codec{}.Unmarshal([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, target)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal(%T) error = %v, want one containing %q", target, err, tc.want)
			}
		})
	}
}

// TestBadArguments checks Marshal and Unmarshal reject nil and non-pointers.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	if _, err := (binary.Codec{}).Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
	if _, err := (binary.Codec{}).Marshal((*profile)(nil)); err == nil {
		t.Error("Marshal((*profile)(nil)) succeeded")
	}
	data, _ := binary.Codec{}.Marshal(profile{})
	if err := (binary.Codec{}).Unmarshal(data, profile{}); err == nil {
		t.Error("Unmarshal into a non-pointer succeeded")
	}
	if err := (binary.Codec{}).Unmarshal(data, (*profile)(nil)); err == nil {
		t.Error("Unmarshal into a nil pointer succeeded")
	}
}

// TestCycle checks that a cyclic value fails to encode instead of recursing forever,
// and that a list nested deeper than the limit fails too, on both sides.
func TestCycle(t *testing.T) {
	t.Parallel()
	l := &list{Val: 1}
	l.Next = l
	if _, err := (binary.Codec{}).Marshal(l); err == nil || !strings.Contains(err.Error(), "levels deep") {
		t.Errorf("Marshal of a cyclic list: error = %v, want a depth error", err)
	}
	type loop []loop
	s := make(loop, 1)
	s[0] = s
	if _, err := (binary.Codec{}).Marshal(s); err == nil {
		t.Error("Marshal of a slice that contains itself succeeded")
	}
	deep := &list{}
	for range 10001 {
		deep = &list{Next: deep}
	}
	if _, err := (binary.Codec{}).Marshal(deep); err == nil {
		t.Error("Marshal of a list 10002 deep succeeded")
	}
}

// TestConcurrent uses a type for the first time from many goroutines at once (the
// plan cache), under -race.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	type fresh struct {
		A []string
		M map[int]item
	}
	v := fresh{A: []string{"x"}, M: map[int]item{1: {SKU: "i", Qty: 1, PriceCents: 1}}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			data, err := binary.Codec{}.Marshal(&v)
			if err != nil {
				t.Error(err)
				return
			}
			var got fresh
			if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, v) {
				t.Errorf("got %+v, want %+v", got, v)
			}
		})
	}
	wg.Wait()
}

// TestErrorsAreSentinels checks the error contract: errors.Is works through wrapping.
func TestErrorsAreSentinels(t *testing.T) {
	t.Parallel()
	err := binary.Codec{}.Unmarshal([]byte(`{"Name":"json"}`), new(profile))
	if !errors.Is(err, binary.ErrMalformed) {
		t.Errorf("Unmarshal(JSON) error = %v, want ErrMalformed", err)
	}
}
