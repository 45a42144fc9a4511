package cookiestore_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    cookiestore.Options
		owner   string
		maxData int // -1: not pinned
	}{
		{"defaults", cookiestore.Options{}, "", 2848}, // the number in the package doc
		{"defaults with owner", cookiestore.Options{}, "user-4242", 2848 - 9},
		{"long owner", cookiestore.Options{}, strings.Repeat("o", 200), 2848 - 201},
		{"long name", cookiestore.Options{}, "", -1},
		{"the Manager's default name", cookiestore.Options{}, "", 2842}, // the number in the package doc
		{"more attributes", cookiestore.Options{AttributeBytes: 1000}, "", -1},
		{"fewer attributes", cookiestore.Options{AttributeBytes: 1}, "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Keys = [][]byte{newKey(t)}
			now := t0
			s := newStore(t, &now, tc.opts)
			name := cookiestore.DefaultName
			switch tc.name {
			case "long name":
				name = "__Host-" + strings.Repeat("n", 100)
				s = named(t, s, name)
			case "the Manager's default name":
				name = "__Host-session"
				s = named(t, s, name)
			}
			n := s.MaxData(len(tc.owner))
			if tc.maxData >= 0 && n != tc.maxData {
				t.Errorf("MaxData(%d) = %d, want %d", len(tc.owner), n, tc.maxData)
			}
			attr := tc.opts.AttributeBytes
			if attr == 0 {
				attr = cookiestore.DefaultAttributeBytes
			}
			rec := sampleRecord()
			rec.Owner = tc.owner
			rec.Data = bytes.Repeat([]byte("x"), n)
			tok, err := s.Save(t.Context(), "", 0, rec)
			if err != nil {
				t.Fatalf("Save(%d bytes, the MaxData) error = %v", n, err)
			}
			if size := len(name) + 1 + len(tok) + attr; size > cookiestore.CookieLimit {
				t.Errorf("the largest cookie is %d bytes with its attributes, over %d", size, cookiestore.CookieLimit)
			}
			if got, found, _ := s.Load(t.Context(), tok); !found || !sameRecord(got, rec) {
				t.Errorf("the largest record does not round-trip: found = %v", found)
			}
			// The limit is tight: one more byte no longer fits, by at most the 4/3 of
			// base64 (so MaxData is the largest, not a safe underestimate).
			rec.Data = append(rec.Data, 'x')
			tok, err = s.Save(t.Context(), "", 0, rec)
			if !errors.Is(err, typedsession.ErrTooLarge) || tok != "" {
				t.Fatalf("Save(%d bytes) = %.20q, %v; want an error wrapping ErrTooLarge", n+1, tok, err)
			}
			if !strings.HasPrefix(err.Error(), "cookiestore: ") {
				t.Errorf("error %q lacks the cookiestore: prefix", err)
			}
			// Touch seals too, and is held to the same limit.
			if _, err := s.Touch(t.Context(), "", rec); !errors.Is(err, typedsession.ErrTooLarge) {
				t.Errorf("Touch(%d bytes) error = %v, want ErrTooLarge", n+1, err)
			}
			// Far over: a megabyte is refused without being sealed.
			rec.Data = make([]byte, 1<<20)
			if _, err := s.Save(t.Context(), "", 0, rec); !errors.Is(err, typedsession.ErrTooLarge) {
				t.Errorf("Save(1 MiB) error = %v, want ErrTooLarge", err)
			}
		})
	}
}

// TestCanonicalProfileSize reports the cookie of the canonical Profile of
// BENCH-WORKLOAD.md with the JSON codec, and pins the number in the package doc.
func TestCanonicalProfileSize(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	rec := store.Record{Data: canonicalJSON(t), Expiry: t0.Add(24 * 60 * 60e9), Created: t0, Version: 1}
	tok := mustSave(t, s, rec)
	// 33 bytes of envelope (format, key id, nonce, tag) + 35 of record header.
	wantRaw := 1 + 4 + 12 + 16 + 35 + len(rec.Data)
	if want := (wantRaw*8 + 5) / 6; len(tok) != want {
		t.Errorf("cookie value for %d bytes of JSON is %d bytes, want %d", len(rec.Data), len(tok), want)
	}
	const documented = 679
	if len(tok) != documented {
		t.Errorf("cookie value for the canonical Profile is %d bytes; the package doc says %d", len(tok), documented)
	}
	t.Logf("canonical Profile: %d bytes of JSON, %d-byte cookie value, %d-byte Set-Cookie pair", len(rec.Data), len(tok), len("session=")+len(tok))
}
