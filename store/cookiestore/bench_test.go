package cookiestore_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

// BenchmarkStore measures the store's three operations on the canonical Profile of
// BENCH-WORKLOAD.md, JSON-encoded: op=load opens a cookie value (decode, authenticate,
// decrypt, check expiry), op=save seals a changed record into a new value, op=touch
// seals the record with a new expiry. No HTTP, no codec: the Manager's share is
// measured in bench/.
func BenchmarkStore(b *testing.B) {
	now := t0
	s := newStore(b, &now, cookiestore.Options{Keys: [][]byte{newKey(b), newKey(b)}})
	rec := store.Record{Data: canonicalJSON(b), Expiry: t0.Add(time.Hour), Created: t0, Version: 1}
	tok := mustSave(b, s, rec)
	ctx := b.Context()

	b.Run("op=load", func(b *testing.B) {
		b.ReportAllocs()
		b.ReportMetric(float64(len(tok)), "cookie-bytes")
		for b.Loop() {
			if _, found, err := s.Load(ctx, tok); !found || err != nil {
				b.Fatal("Load failed")
			}
		}
	})
	b.Run("op=save", func(b *testing.B) {
		b.ReportAllocs()
		r := rec
		for b.Loop() {
			r.Version++
			if _, err := s.Save(ctx, tok, r.Version-1, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=touch", func(b *testing.B) {
		b.ReportAllocs()
		r := rec
		for b.Loop() {
			r.Expiry = r.Expiry.Add(time.Millisecond)
			if _, err := s.Touch(ctx, tok, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=parallel-load", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, found, _ := s.Load(ctx, tok); !found {
					b.Error("Load failed")
					return
				}
			}
		})
	})
}

// BenchmarkFloor is the physical limit under BenchmarkStore: a bare AES-256-GCM over the
// same number of bytes with base64url, and nothing else (no envelope checks, no record
// encoding, no buffer reuse). op=open is decode + Open, op=seal is a random nonce + Seal
// + encode.
func BenchmarkFloor(b *testing.B) {
	block, _ := aes.NewCipher(newKey(b))
	aead, _ := cipher.NewGCM(block)
	pt := make([]byte, 27+len(canonicalJSON(b)))
	nonce := make([]byte, 12)
	rand.Read(nonce)
	ad := []byte("\x01\x00\x00\x00\x00session")
	sealed := aead.Seal(append([]byte(nil), nonce...), nonce, pt, ad)
	val := base64.RawURLEncoding.EncodeToString(sealed)

	b.Run("op=open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, err := base64.RawURLEncoding.DecodeString(val)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aead.Open(raw[12:12], raw[:12], raw[12:], ad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("op=seal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := make([]byte, 12, 12+len(pt)+16)
			rand.Read(n)
			out := aead.Seal(n, n, pt, ad)
			_ = base64.RawURLEncoding.EncodeToString(out)
		}
	})
}
