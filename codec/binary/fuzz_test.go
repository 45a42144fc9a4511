package binary_test

import (
	"bytes"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// fuzzT exercises every decoder path: FuzzUnmarshal decodes arbitrary bytes into it.
type fuzzT struct {
	B    bool
	I8   int8
	I    int
	U16  uint16
	F    float64
	S    string
	Bs   []byte
	Arr  [2]uint32
	Strs []string
	M    map[string]int32
	MI   map[int8]item
	P    *item
	T    time.Time
	L    *list
	Tree []tree
	Addr netip.Addr
}

func fuzzSeeds() []fuzzT {
	return []fuzzT{
		{},
		{B: true, I8: -1, I: 1 << 40, U16: 7, F: 1.5, S: "s", Bs: []byte{}, Arr: [2]uint32{1, 2},
			Strs: []string{"a", ""}, M: map[string]int32{"k": -1, "j": 2}, MI: map[int8]item{-3: {SKU: "x", Qty: 1, PriceCents: 2}},
			P: &item{SKU: "p", Qty: 3, PriceCents: 4}, T: time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("", 5*3600+1800)),
			L:    &list{1, &list{2, nil}},
			Tree: []tree{{Name: "r", Kids: []tree{{}}, Meta: map[string]*tree{"m": nil}}},
			Addr: netip.MustParseAddr("10.0.0.1")},
	}
}

// FuzzUnmarshal checks that Unmarshal never panics on any input, and that whatever it
// accepts re-encodes to a record that decodes to the same value (compared by
// reflect.DeepEqual, and by its encoding, which also compares NaN floats bit for bit).
func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds() {
		data, err := binary.Codec{}.Marshal(&s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte{})
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v1 fuzzT
		if err := (binary.Codec{}).Unmarshal(data, &v1); err != nil {
			return
		}
		b1, err := binary.Codec{}.Marshal(&v1)
		if err != nil {
			t.Fatalf("Marshal of a decoded value: %v", err)
		}
		var v2 fuzzT
		if err := (binary.Codec{}).Unmarshal(b1, &v2); err != nil {
			t.Fatalf("Unmarshal(Marshal(Unmarshal(data))): %v", err)
		}
		b2, err := binary.Codec{}.Marshal(&v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b1, b2)
		}
		if !math.IsNaN(v1.F) && !reflect.DeepEqual(v1, v2) {
			t.Fatalf("round trip of a decoded value:\n got %+v\nwant %+v", v2, v1)
		}
	})
}

// FuzzRoundTrip checks that a Profile built from arbitrary values survives a round
// trip unchanged (reflect.DeepEqual).
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(4242), "Ada Lovelace", "ada@analytical-engine.example", "customer,beta-tester,newsletter",
		"BOOK-9780141439846", 5, int64(1299), 0, int64(1741964966), uint32(535e6), int32(0), true)
	f.Add(int64(math.MinInt64), "", "\xff\x00", "", "", -1, int64(math.MaxInt64), math.MinInt, int64(-62135596800), uint32(0), int32(-3600), false)
	f.Fuzz(func(t *testing.T, userID int64, name, email, roles, sku string, items int, price int64,
		counter int, sec int64, nsec uint32, offset int32, utc bool) {
		p := profile{UserID: userID, Name: name, Email: email, Counter: counter}
		if roles != "" {
			p.Roles = strings.Split(roles, ",")
		}
		for i := range items % 20 {
			p.Cart = append(p.Cart, item{SKU: sku + strings.Repeat("+", i), Qty: i - 3, PriceCents: price - int64(i)})
		}
		sec %= 1 << 50 // within time.Time's range
		p.LastSeen = time.Unix(sec, int64(nsec%1e9)).UTC()
		if !utc {
			p.LastSeen = p.LastSeen.In(time.FixedZone("", int(offset%(7*24*3600))))
		}
		data, err := binary.Codec{}.Marshal(&p)
		if err != nil {
			t.Fatal(err)
		}
		var got profile
		if err := (binary.Codec{}).Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, p)
		}
	})
}

// hostile takes much more memory than its encoding in several ways at once.
type hostile struct {
	Arr   []arrayOfPadded
	Times []time.Time
	Strs  [][]string
	Maps  map[string]map[int8][]*padded120
	Bytes [][]byte
	Chain *chain
}

// boundTypes are the types FuzzUnmarshalBound decodes into.
var boundTypes = []reflect.Type{
	reflect.TypeFor[[]bigElem](),
	reflect.TypeFor[[]*bigElem](),
	reflect.TypeFor[[][]padded](),
	reflect.TypeFor[map[uint16]padded](),
	reflect.TypeFor[[]map[uint8]padded120](),
	reflect.TypeFor[*chain](),
	reflect.TypeFor[manySlices](),
	reflect.TypeFor[hostile](),
}

// FuzzUnmarshalBound checks the bound of the package documentation on arbitrary
// records of types that take far more memory than their encoding: one Unmarshal
// allocates at most 64 bytes per byte of the record plus 16 KiB, or, if limit is not
// zero, at most Codec.MaxAlloc = 64*limit bytes (and its error, in both cases). The
// record is the header of the type that kind picks, then body.
func FuzzUnmarshalBound(f *testing.F) {
	headers := make([][]byte, len(boundTypes))
	for i, typ := range boundTypes {
		data, err := binary.Codec{}.Marshal(reflect.New(typ).Interface())
		if err != nil {
			f.Fatal(err)
		}
		headers[i] = data[:9:9]
		f.Add(uint8(i), uint16(0), data[9:])
	}
	for _, v := range []any{
		[]*bigElem{nil, {ID: 1}}, [][]padded{{}, {{V: 1}}, nil}, map[uint16]padded{1: {V: 1}},
		[]map[uint8]padded120{{1: {V: 1}}, nil}, &chain{V: 1, Next: &chain{}}, manySlices{A: []padded{{}}, H: []padded{{}}},
		hostile{Arr: []arrayOfPadded{{}}, Times: []time.Time{time.Unix(1, 0).In(time.FixedZone("", 5400))},
			Strs: [][]string{{"a", ""}, nil}, Maps: map[string]map[int8][]*padded120{"k": {-1: {nil, {V: 2}}}},
			Bytes: [][]byte{nil, {1}}, Chain: &chain{}},
	} {
		data, err := binary.Codec{}.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		i := slices.Index(boundTypes, reflect.TypeOf(v))
		f.Add(uint8(i), uint16(0), data[9:])
		f.Add(uint8(i), uint16(len(data)), data[9:])
	}
	f.Add(uint8(0), uint16(0), cat(uv(301), bytes.Repeat([]byte{0}, 300))) // the issue's: 300 MiB in 311 bytes
	f.Add(uint8(1), uint16(0), cat(uv(2), []byte{1, 0}))                   // and 1 MiB in 12
	f.Fuzz(func(t *testing.T, kind uint8, limit uint16, body []byte) {
		i := int(kind) % len(boundTypes)
		data := cat(headers[i], body)
		into := reflect.New(boundTypes[i]).Interface()
		c := binary.Codec{MaxAlloc: 64 * int(limit)}
		bound := allocBound(len(data))
		if limit != 0 {
			bound = uint64(c.MaxAlloc + errorSlack)
		}
		var err error
		if got := allocated(bound, func() { err = c.Unmarshal(data, into) }); got > bound {
			t.Fatalf("Unmarshal of %d bytes into %s, MaxAlloc %d, allocated %d bytes, want at most %d (error: %v)",
				len(data), boundTypes[i], c.MaxAlloc, got, bound, err)
		}
	})
}
