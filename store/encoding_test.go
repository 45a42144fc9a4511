package store_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// unhex decodes the hex digits of s, ignoring spaces, newlines and comments from "//" to
// the end of a line, so that a golden encoding can be written field by field.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var digits strings.Builder
	for line := range strings.Lines(s) {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("bad golden hex: %v", err)
	}
	return b
}

// goldenRecord is the record whose encodings the golden tests spell out.
var goldenRecord = store.Record{
	Data:       []byte(`{"n":1}`),
	Expiry:     time.UnixMilli(1_750_003_600_000),
	Created:    time.UnixMilli(1_750_000_000_000),
	Active:     time.UnixMilli(1_750_000_060_000),
	Version:    0x0102030405060708,
	Owner:      "user:42",
	RememberMe: true,
	Ended:      store.Destroyed,
}

// The golden encodings, written from the layout documented at store.RecordFormat.
const (
	goldenV2 = `
		02                // format 2
		0102030405060708  // Version
		000001977457ca80  // Expiry, 1750003600000 ms
		000001977420dc00  // Created, 1750000000000 ms
		000001977421c660  // Active, 1750000060000 ms
		05                // flags: RememberMe (bit 0), Ended = Destroyed (2, bits 1-2)
		07 757365723a3432 // Owner: length 7, "user:42"
		7b226e223a317d    // Data: {"n":1}
	`
	// goldenV1 is what the first release wrote for goldenRecord (it had neither Active
	// nor Ended). Its Record.MarshalBinary (commit 58ccb4d) returns exactly these bytes.
	goldenV1 = `
		01                // format 1
		0102030405060708  // Version
		000001977457ca80  // Expiry
		000001977420dc00  // Created
		01                // flags: RememberMe (bit 0)
		07 757365723a3432 // Owner
		7b226e223a317d    // Data
	`
	// goldenZero is the zero Record: zero times are 0, no Owner, no Data.
	goldenZero = `
		02 0000000000000000 0000000000000000 0000000000000000 0000000000000000 00 00
	`
)

// TestRecordGolden pins the binary encoding: MarshalBinary of a fixed record gives
// exactly the documented bytes, and UnmarshalBinary reads those bytes, and the first
// release's format 1, back to the record (format 1 without Active and Ended).
func TestRecordGolden(t *testing.T) {
	v1 := goldenRecord
	v1.Active, v1.Ended = time.Time{}, store.NotEnded
	tests := []struct {
		name    string
		rec     store.Record
		golden  string
		written bool // written today by MarshalBinary (format 2), not only read
	}{
		{"format 2", goldenRecord, goldenV2, true},
		{"format 2, zero record", store.Record{}, goldenZero, true},
		{"format 1", v1, goldenV1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.golden)
			if tc.written {
				got, err := tc.rec.MarshalBinary()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("MarshalBinary() = %x, %v\nwant              %x", got, err, want)
				}
				if n := tc.rec.EncodedLen(); n != len(want) {
					t.Errorf("EncodedLen() = %d, want %d", n, len(want))
				}
				if got, _ := tc.rec.AppendBinary([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want...)) {
					t.Errorf("AppendBinary(prefix) = %x, want the prefix and %x", got, want)
				}
			}
			var got store.Record
			if err := got.UnmarshalBinary(want); err != nil {
				t.Fatalf("UnmarshalBinary(%x): %v", want, err)
			}
			if d := storetest.Diff(got, tc.rec); d != "" {
				t.Errorf("UnmarshalBinary(%x): %s", want, d)
			}
			if off := store.OwnerOffset(want[0]); want[off] != byte(len(tc.rec.Owner)) {
				t.Errorf("OwnerOffset(%d) = %d, where the encoding holds %d, not the Owner's length %d", want[0], off, want[off], len(tc.rec.Owner))
			}
		})
	}
}

// TestRecordMalformed checks that UnmarshalBinary refuses what neither format can be,
// with an error and without a panic.
func TestRecordMalformed(t *testing.T) {
	v2, v1 := unhex(t, goldenV2), unhex(t, goldenV1)
	with := func(b []byte, i int, v byte) []byte {
		b = bytes.Clone(b)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown format 0", with(v2, 0, 0)},
		{"unknown format 3", with(v2, 0, 3)},
		{"format 2 cut in its header", v2[:store.RecordHeaderLen-1]},
		{"format 2 without the Owner's length", v2[:store.RecordHeaderLen]},
		{"format 2 cut in its Owner", v2[:store.RecordHeaderLen+3]},
		{"format 2 with an unknown flag", with(v2, 33, 0x08)},
		{"format 2 with an unknown end reason", with(v2, 33, 3<<1)},
		{"format 2 with an Owner longer than the rest", with(v2, store.RecordHeaderLen, 100)},
		{"format 2 with an overlong uvarint", append(bytes.Clone(v2[:store.RecordHeaderLen]), bytes.Repeat([]byte{0xff}, 11)...)},
		{"format 1 cut in its header", v1[:store.RecordHeaderLenV1-1]},
		{"format 1 without the Owner's length", v1[:store.RecordHeaderLenV1]},
		{"format 1 with a flag it never had", with(v1, 25, 0x02)},
		{"format 1 with an Owner longer than the rest", with(v1, store.RecordHeaderLenV1, 100)},
	}
	for _, tc := range tests {
		var rec store.Record
		if err := rec.UnmarshalBinary(tc.b); err == nil {
			t.Errorf("%s: UnmarshalBinary(%x) = %+v, nil; want an error", tc.name, tc.b, rec)
		}
	}
}

// FuzzRecord feeds UnmarshalBinary arbitrary bytes: it never panics, and a record it
// accepts encodes (in format 2) to bytes that decode to the same record. Run it with
//
//	go test -run '^$' -fuzz '^FuzzRecord$' -fuzztime 30s ./store
func FuzzRecord(f *testing.F) {
	for _, g := range []string{goldenV2, goldenV1, goldenZero} {
		f.Add(unhex(f, g))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var rec store.Record
		if rec.UnmarshalBinary(b) != nil {
			return
		}
		enc, err := rec.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded record: %v", err)
		}
		if len(enc) != rec.EncodedLen() || enc[0] != store.RecordFormat {
			t.Fatalf("MarshalBinary() = %x: %d bytes (EncodedLen %d), format %d", enc, len(enc), rec.EncodedLen(), enc[0])
		}
		var again store.Record
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("UnmarshalBinary(MarshalBinary(%x)) = %v", b, err)
		}
		if d := storetest.Diff(again, rec); d != "" {
			t.Fatalf("decoded %x, encoded %x, decoded again: %s", b, enc, d)
		}
		if b[0] == store.RecordFormat && !bytes.Equal(enc[:store.RecordHeaderLen], b[:store.RecordHeaderLen]) {
			t.Fatalf("a format-2 header %x re-encodes as %x", b[:store.RecordHeaderLen], enc[:store.RecordHeaderLen])
		}
	})
}
