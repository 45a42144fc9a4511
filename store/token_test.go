package store

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := newToken()
		if len(tok) != 43 || seen[tok] {
			t.Fatalf("newToken() = %q: want 43 base64url characters, never repeated", tok)
		}
		seen[tok] = true
		key, ok := key(tok)
		if !ok || len(key) != 32 || strings.Contains(key, tok) {
			t.Fatalf("key(%q) = %x, %v; want a 32-byte hash", tok, key, ok)
		}
	}
}

// FuzzKey checks the hand-written token check against the standard library's strict
// base64url decoder: key accepts exactly the canonical encodings of 32 bytes.
func FuzzKey(f *testing.F) {
	f.Add(newToken())
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, token string) {
		_, ok := key(token)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
		want := err == nil && len(raw) == 32 && len(token) == 43
		if ok != want {
			t.Errorf("key(%q) ok = %v, the strict decoder says %v", token, ok, want)
		}
	})
}
