package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenLen is the length of a token: 32 random bytes in unpadded base64url.
const tokenLen = 43

// newToken returns a new session token: 256 bits from crypto/rand in unpadded base64url.
func newToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// key returns the KV key of token, the SHA-256 digest of its bytes, and reports whether
// token is well formed (as minted by newToken). A malformed token has no key.
func key(token string) (string, bool) {
	if !wellFormed(token) {
		return "", false
	}
	var buf [tokenLen]byte
	sum := sha256.Sum256(append(buf[:0], token...))
	return string(sum[:]), true
}

// ID returns the identifier of the session that token refers to: the unpadded base64url
// encoding of the token's SHA-256 digest. It names a session in lists and logs without
// being usable to act as it. [OwnerStore] lists and takes sessions by ID, and for a
// [KVStore] the ID is the KV key, encoded.
func ID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// KeyID returns the ID of the session stored at the KV key k (see [ID]): k encoded in
// unpadded base64url.
func KeyID(k string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(k))
}

// wellFormed reports whether token is 32 bytes in canonical unpadded base64url, as
// newToken makes them. It allocates nothing: it runs on every request.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		if base64URL[token[i]] == 0xff {
			return false
		}
	}
	// 43 characters carry 258 bits: the last character's 2 low bits must be zero, or
	// the token has a second spelling.
	return base64URL[token[tokenLen-1]]&3 == 0
}

// base64URL maps a byte to its value in the base64url alphabet, or 0xff.
var base64URL = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()
