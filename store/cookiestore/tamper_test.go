package cookiestore_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

// mustReject asserts that Load of each value is "no session": not found, no error, no
// panic. It reports how many values it tried.
func mustReject(t *testing.T, s *cookiestore.Store, what string, values func(yield func(name, value string) bool)) int {
	t.Helper()
	n, accepted := 0, 0
	for name, v := range values {
		n++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s %s: Load() panicked: %v", what, name, p)
				}
			}()
			rec, found, err := s.Load(t.Context(), v)
			if found || err != nil || !sameRecord(rec, store.Record{}) {
				accepted++
				if accepted <= 5 {
					t.Errorf("%s %s: Load() = %+v, %v, %v; want the zero Record, false, nil", what, name, rec, found, err)
				}
			}
		}()
	}
	if accepted > 0 {
		t.Errorf("%s: %d of %d altered values accepted; want 0", what, accepted, n)
	}
	if n == 0 {
		t.Fatalf("%s: no values tried", what)
	}
	return n
}

var raw = base64.RawURLEncoding

// TestTamper alters a real sealed cookie in every way listed in the issue and requires
// each result to be rejected as "no session", with no panic.
func TestTamper(t *testing.T) {
	t.Parallel()
	now := t0
	k1, k2 := newKey(t), newKey(t)
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{k1, k2}})
	rec := sampleRecord()
	rec.Data = canonicalJSON(t)
	tok := mustSave(t, s, rec)
	if _, found, _ := s.Load(t.Context(), tok); !found {
		t.Fatal("the untouched value does not open")
	}
	sealed, err := raw.DecodeString(tok)
	if err != nil {
		t.Fatalf("the cookie value is not unpadded base64url: %v", err)
	}

	total := 0
	t.Run("bit flip in sealed bytes", func(t *testing.T) {
		total += mustReject(t, s, "bit flip", func(yield func(string, string) bool) {
			for i := range len(sealed) * 8 {
				b := slices.Clone(sealed)
				b[i/8] ^= 1 << (i % 8)
				if !yield(fmt.Sprintf("byte %d bit %d", i/8, i%8), raw.EncodeToString(b)) {
					return
				}
			}
		})
	})
	t.Run("bit flip in base64", func(t *testing.T) {
		total += mustReject(t, s, "base64 bit flip", func(yield func(string, string) bool) {
			for i := range len(tok) * 8 {
				b := []byte(tok)
				b[i/8] ^= 1 << (i % 8)
				if !yield(fmt.Sprintf("char %d bit %d", i/8, i%8), string(b)) {
					return
				}
			}
		})
	})
	t.Run("other characters in base64", func(t *testing.T) {
		// Every character at every position, so that a non-canonical final character
		// (the same bytes, other padding bits) is covered too.
		total += mustReject(t, s, "substitution", func(yield func(string, string) bool) {
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/="
			for i := range len(tok) {
				for _, c := range []byte(alphabet) {
					if c == tok[i] {
						continue
					}
					b := []byte(tok)
					b[i] = c
					if !yield(fmt.Sprintf("char %d = %q", i, c), string(b)) {
						return
					}
				}
			}
		})
	})
	t.Run("truncation", func(t *testing.T) {
		total += mustReject(t, s, "truncation", func(yield func(string, string) bool) {
			for n := range len(tok) {
				if !yield(fmt.Sprintf("base64 to %d", n), tok[:n]) {
					return
				}
			}
			for n := range len(sealed) {
				if !yield(fmt.Sprintf("bytes to %d", n), raw.EncodeToString(sealed[:n])) {
					return
				}
				if !yield(fmt.Sprintf("bytes from %d", n+1), raw.EncodeToString(sealed[n+1:])) {
					return
				}
			}
		})
	})
	t.Run("extension", func(t *testing.T) {
		total += mustReject(t, s, "extension", func(yield func(string, string) bool) {
			for _, suffix := range []string{"A", "AA", "AAA", "AAAA", "=", "==", ".", " ", "\x00", tok} {
				if !yield(fmt.Sprintf("base64 + %q", suffix), tok+suffix) {
					return
				}
			}
			for n := 1; n <= 64; n++ {
				for _, fill := range []byte{0, 0xff} {
					b := append(slices.Clone(sealed), make([]byte, n)...)
					for i := len(sealed); i < len(b); i++ {
						b[i] = fill
					}
					if !yield(fmt.Sprintf("bytes + %d×%#x", n, fill), raw.EncodeToString(b)) {
						return
					}
				}
			}
			if padded := base64.URLEncoding.EncodeToString(sealed); padded != tok && !yield("padded", padded) {
				return
			}
			if !yield("standard alphabet", base64.StdEncoding.EncodeToString(sealed)) {
				return
			}
		})
	})
	t.Run("another cookie name", func(t *testing.T) {
		for _, name := range []string{"Session", "session2", "sessio", "admin", "__Host-session"} {
			other := named(t, newStore(t, &now, cookiestore.Options{Keys: [][]byte{k1, k2}}), name)
			total += mustReject(t, other, "moved to cookie "+name, func(yield func(string, string) bool) {
				yield("as is", tok)
			})
		}
	})
	t.Run("unknown key id", func(t *testing.T) {
		ids := cookiestore.KeyIDs(s)
		total += mustReject(t, s, "key id", func(yield func(string, string) bool) {
			for _, id := range []uint32{0, 1, ids[0] + 1, ids[0] ^ 0x80000000, ^uint32(0)} {
				b := slices.Clone(sealed)
				binary.BigEndian.PutUint32(b[1:], id)
				if !yield(fmt.Sprintf("%#x", id), raw.EncodeToString(b)) {
					return
				}
			}
			// The other key's id on a value sealed by the first: it must not open with
			// the other key either.
			b := slices.Clone(sealed)
			binary.BigEndian.PutUint32(b[1:], ids[1])
			yield("the second key's id", raw.EncodeToString(b))
		})
	})
	t.Run("unknown format", func(t *testing.T) {
		total += mustReject(t, s, "format", func(yield func(string, string) bool) {
			for f := range 256 {
				if f == 1 {
					continue
				}
				b := slices.Clone(sealed)
				b[0] = byte(f)
				if !yield(fmt.Sprint(f), raw.EncodeToString(b)) {
					return
				}
			}
		})
	})
	t.Run("retired key", func(t *testing.T) {
		retired := newStore(t, &now, cookiestore.Options{Keys: [][]byte{k2}})
		total += mustReject(t, retired, "retired key", func(yield func(string, string) bool) {
			yield("sealed with the removed key", tok)
		})
		// Not a vacuous pass: the same store opens its own.
		if _, found, _ := retired.Load(t.Context(), mustSave(t, retired, rec)); !found {
			t.Error("the [k2] store does not open its own value")
		}
	})
	t.Run("junk", func(t *testing.T) {
		total += mustReject(t, s, "junk", func(yield func(string, string) bool) {
			for _, v := range []string{"", "=", "a", "session=" + tok, "\n" + tok, tok + "\r\n", tok[:100] + "\r" + tok[100:], tok[:101] + "\n" + tok[101:], string(make([]byte, 5000)), tok[:len(tok)/2] + " " + tok[len(tok)/2:]} {
				if !yield(fmt.Sprintf("%.20q", v), v) {
					return
				}
			}
		})
	})
	t.Logf("%d altered values of a %d-byte cookie value (%d sealed bytes), all rejected", total, len(tok), len(sealed))
}
