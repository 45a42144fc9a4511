package binary_test

import (
	"bytes"
	"math"
	"net/netip"
	"reflect"
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
