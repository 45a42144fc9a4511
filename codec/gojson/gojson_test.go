package gojson_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/bench/workload"

	"github.com/seed96b21533/typedsession/codec/gojson"
)

// The canonical payload of the benchmark workload.
type (
	item    = workload.Item
	profile = workload.Profile
)

func canonical() profile { return workload.Canonical() }

type Embedded struct{ E1, E2 string }

type tagged struct {
	Embedded
	Renamed    string            `json:"renamed"`
	Omitted    string            `json:"omitted,omitempty"`
	Skipped    string            `json:"-"`
	AsString   int64             `json:",string"`
	unexported string            // must not be encoded
	Ptr        *int              `json:"ptr"`
	NilPtr     *int              `json:"nil_ptr"`
	Map        map[string]int    `json:"map"`
	IntMap     map[int]string    `json:"int_map"`
	Bytes      []byte            `json:"bytes"`
	Array      [3]uint8          `json:"array"`
	Nested     [][]string        `json:"nested"`
	Empty      []int             `json:"empty"`
	Nil        []int             `json:"nil"`
	Any        any               `json:"any"`
	Addr       netip.Addr        `json:"addr"` // encoding.TextMarshaler
	Raw        json.RawMessage   `json:"raw"`  // json.Marshaler
	Zone       time.Time         `json:"zone"`
	Floats     []float64         `json:"floats"`
	Ints       []int8            `json:"ints"`
	Uints      []uint64          `json:"uints"`
	Bools      map[string]bool   `json:"bools"`
	Structs    map[string]item   `json:"structs"`
	PtrStruct  *item             `json:"ptr_struct"`
	Escapes    string            `json:"escapes"`
	Strings    map[string]string `json:"strings"`
}

// TestRoundTrip checks, over many types, that the codec writes the same bytes as
// encoding/json, reads them back to the same value as encoding/json does, and reads
// encoding/json's records (the two codecs are interchangeable).
func TestRoundTrip(t *testing.T) {
	seven := 7
	cases := []struct {
		name string
		v    any
		new  func() any // a pointer to a zero value of v's type
	}{
		{"profile", canonical(), func() any { return new(profile) }},
		{"zero profile", profile{}, func() any { return new(profile) }},
		{"tagged", tagged{
			Embedded: Embedded{"e1", "e2"}, Renamed: "r", Skipped: "s", AsString: -9,
			unexported: "u", Ptr: &seven, Map: map[string]int{"b": 2, "a": 1},
			IntMap: map[int]string{3: "three", -1: "minus one"}, Bytes: []byte{0, 1, 0xff},
			Array: [3]uint8{1, 2, 3}, Nested: [][]string{{"x"}, {}, nil}, Empty: []int{},
			Any:  map[string]any{"k": []any{1.5, "s", true, nil}},
			Addr: netip.MustParseAddr("2001:db8::1"), Raw: json.RawMessage(`{"z":[1,2]}`),
			Zone:   time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("", -(3*3600+30*60))),
			Floats: []float64{0, -0.5, 1e300, math.SmallestNonzeroFloat64, 123456789.125},
			Ints:   []int8{math.MinInt8, -1, 0, math.MaxInt8},
			Uints:  []uint64{0, math.MaxUint64}, Bools: map[string]bool{"t": true, "f": false},
			Structs:   map[string]item{"a": {SKU: "A", Qty: 1, PriceCents: 2}},
			PtrStruct: &item{SKU: "P", Qty: 3, PriceCents: 4},
			Escapes:   "<a href=\"x\">&amp;</a>\u2028\u2029\t\n\x00é日本\U0001F600",
			Strings:   map[string]string{"": "empty key", "ü": "ß"},
		}, func() any { return new(tagged) }},
		{"zero tagged", tagged{}, func() any { return new(tagged) }},
		{"map", map[string][]int{"a": {1}, "b": nil}, func() any { return new(map[string][]int) }},
		{"slice of pointers", []*item{{SKU: "a", Qty: 1, PriceCents: 2}, nil}, func() any { return new([]*item) }},
		{"string", "plain", func() any { return new(string) }},
		{"int64", int64(math.MinInt64), func() any { return new(int64) }},
		{"any", map[string]any{"n": 1.0, "s": "x", "l": []any{}}, func() any { return new(any) }},
	}
	c := gojson.Codec{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Marshal(tc.v)
			if err != nil {
				t.Fatalf("Marshal() error = %v", err)
			}
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal() = %s\nencoding/json = %s", got, want)
			}
			dst, ref := tc.new(), tc.new()
			if err := c.Unmarshal(want, dst); err != nil {
				t.Fatalf("Unmarshal() error = %v", err)
			}
			if err := json.Unmarshal(want, ref); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dst, ref) {
				t.Errorf("Unmarshal() = %+v\nencoding/json = %+v", dst, ref)
			}
		})
	}
}

// TestFieldChanges checks the documented behaviour when the struct changes between
// deploys: an added field decodes as zero, a removed one is ignored, a changed type fails.
func TestFieldChanges(t *testing.T) {
	type v1 struct {
		A string
		B int
	}
	type v2Added struct {
		A string
		B int
		C []string
	}
	type v2Removed struct{ A string }
	type v2Retyped struct {
		A int
		B int
	}
	c := gojson.Codec{}
	data, err := c.Marshal(v1{A: "a", B: 2})
	if err != nil {
		t.Fatal(err)
	}
	var added v2Added
	if err := c.Unmarshal(data, &added); err != nil || added.A != "a" || added.B != 2 || added.C != nil {
		t.Errorf("Unmarshal(added field) = %+v, %v; want {a 2 []}, nil", added, err)
	}
	var removed v2Removed
	if err := c.Unmarshal(data, &removed); err != nil || removed.A != "a" {
		t.Errorf("Unmarshal(removed field) = %+v, %v; want {a}, nil", removed, err)
	}
	var retyped v2Retyped
	if err := c.Unmarshal(data, &retyped); err == nil {
		t.Errorf("Unmarshal(retyped field) = %+v, nil; want an error", retyped)
	}
}

// FuzzUnmarshal checks that on any input the codec does not panic, and that whatever
// encoding/json accepts it accepts too, with the same result.
func FuzzUnmarshal(f *testing.F) {
	good, _ := json.Marshal(canonical())
	f.Add(good)
	f.Add([]byte(`{"UserID":1,"name":"case","Cart":[{"sku":"x","Qty":-1}],"LastSeen":"2000-01-01T00:00:00+01:00"}`))
	f.Add([]byte(`{"Roles":null,"Cart":[],"Counter":1e3}`))
	f.Add([]byte(`{"UserID":"1"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"Name":"\ud800"}`))
	c := gojson.Codec{}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want profile
		gotErr := c.Unmarshal(data, &got)
		if json.Unmarshal(data, &want) != nil {
			return
		}
		if gotErr != nil {
			t.Fatalf("Unmarshal(%q) error = %v; encoding/json accepts it", data, gotErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Unmarshal(%q) = %+v\nencoding/json = %+v", data, got, want)
		}
	})
}

// FuzzRoundTrip checks that any Profile survives Marshal and Unmarshal unchanged and is
// written byte for byte as encoding/json writes it.
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(4242), "Ada Lovelace", "BOOK", 1, int64(1299), int64(1741964966535))
	f.Add(int64(-1), "<\u2028>\xff", "", -5, int64(math.MaxInt64), int64(0))
	c := gojson.Codec{}
	f.Fuzz(func(t *testing.T, id int64, name, sku string, qty int, price, ms int64) {
		ms %= 253402300800000 // keep the year within 0000-9999, as time.MarshalJSON requires
		p := profile{UserID: id, Name: name, Email: name + "@x", Roles: []string{name, sku},
			Cart: []item{{SKU: sku, Qty: qty, PriceCents: price}}, Counter: qty, LastSeen: time.UnixMilli(ms).UTC()}
		data, err := c.Marshal(p)
		want, wantErr := json.Marshal(p)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("Marshal() error = %v; encoding/json: %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("Marshal() = %s\nencoding/json = %s", data, want)
		}
		var got, ref profile
		if err := c.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal() error = %v", err)
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("Unmarshal() = %+v\nencoding/json = %+v", got, ref)
		}
	})
}
