package typedsession

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
)

// Sentinel errors. Compare with [errors.Is]: they are usually wrapped.
var (
	// ErrConflict reports that a conditional write lost a race: the stored record is no
	// longer at the version that was read (another request changed it, or it is gone).
	ErrConflict = errors.New("typedsession: session changed concurrently")

	// ErrResponseStarted reports a session change that could not reach the client because
	// the response had already started (its headers were sent), so a new cookie could not be set.
	ErrResponseStarted = errors.New("typedsession: response already started; the session cookie could not be sent")

	// ErrTooLarge reports a session that is too large for its store (a sealed cookie over
	// the browser's 4096-byte limit, a value over a server's limit).
	ErrTooLarge = errors.New("typedsession: session too large")
)

// Record is what a store keeps for one session.
//
// A store keeps every field and gives it back unchanged; only the Manager interprets them.
type Record struct {
	// Data is the session value as encoded by the Manager's Codec.
	Data []byte
	// Expiry is the instant the session ends: the earlier of its idle deadline and its
	// absolute deadline. A store must never return a record at or after its Expiry, and may
	// forget it from then on.
	Expiry time.Time
	// Created is when the session began; the absolute lifetime counts from it.
	Created time.Time
	// Version is incremented by the Manager on every write; stores use it for
	// compare-and-swap (see KV.Update).
	Version uint64
	// Owner identifies the user the session belongs to, or is empty.
	Owner string
	// Persist reports whether the session cookie outlives the browser session
	// ("remember me").
	Persist bool
}

// Store is where a Manager keeps its sessions, in terms of the token the client holds.
//
// Server-side stores implement the smaller [KV] interface and embed a [Server], which turns
// a KV into a Store and owns the tokens. A store that keeps the session in the token
// itself (a sealed cookie) implements Store directly.
//
// A Store must be safe for concurrent use. Not finding a session is a value (found ==
// false), never an error: err is for system failures only (network, disk, a closed
// client), and a system failure must never be reported as not found.
type Store interface {
	// Load returns the session the token refers to. A malformed, forged, unknown or
	// expired token is not found, never an error.
	Load(ctx context.Context, token string) (rec Record, found bool, err error)

	// Save writes rec and returns the token that refers to it from now on. With token ""
	// Save creates a new session. Otherwise it replaces the session only if its stored
	// version is still version; if the session changed or is gone, Save returns an error
	// that wraps ErrConflict and changes nothing.
	Save(ctx context.Context, token string, version uint64, rec Record) (string, error)

	// Touch sets the expiry of the session to rec.Expiry, leaving its data alone, and
	// returns the token that refers to it from now on. rec is the session as loaded with
	// the new Expiry. Touching a session that is gone does nothing and is not an error:
	// it never brings the session back.
	Touch(ctx context.Context, token string, rec Record) (string, error)

	// Delete ends the session. Deleting a session that does not exist is not an error.
	// A store that cannot revoke a token on the server (the session lives in the
	// client's cookie) returns an error that wraps errors.ErrUnsupported; the Manager
	// then relies on expiring the client's cookie.
	Delete(ctx context.Context, token string) error
}

// KV is what a server-side store implements: records by key, with compare-and-swap.
// [Server] turns a KV into a [Store]: it mints, validates and hashes the tokens, so a KV
// never sees a token. A key is the 32-byte SHA-256 digest of a token, as a string of raw
// bytes.
//
// A KV must be safe for concurrent use. Not found is a value, never an error; err is for
// system failures only, and a system failure is never reported as not found. Expiry is
// enforced when a record is read: a record at or past its Expiry is not found, whatever
// the state of any background cleanup. Every method honours ctx cancellation.
type KV interface {
	// Get returns the record stored at key, if it exists and has not expired.
	Get(ctx context.Context, key string) (rec Record, found bool, err error)

	// Create stores rec at key. It never overwrites: if a live record exists at key,
	// Create returns an error that wraps ErrConflict.
	Create(ctx context.Context, key string, rec Record) error

	// Update replaces the record at key with rec, only if a live record exists at key
	// and its Version equals version. Otherwise (changed, deleted or expired) it returns
	// an error that wraps ErrConflict and changes nothing: a late write never brings a
	// deleted session back.
	Update(ctx context.Context, key string, version uint64, rec Record) error

	// Touch sets the Expiry of the live record at key, leaving every other field alone.
	// Touching a missing or expired key does nothing and is not an error.
	Touch(ctx context.Context, key string, expiry time.Time) error

	// Delete removes the record at key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Server turns a [KV] into a [Store]. It mints tokens (256 bits from crypto/rand,
// base64url), rejects malformed tokens without touching the KV, and keys records by the
// SHA-256 of the token, so a leaked keyspace or table yields no usable session.
//
// Server-side stores embed a Server: memstore.New(...) is a Store because its Server is.
type Server struct {
	KV KV
}

var _ Store = Server{}

// tokenLen is the length of a token: 32 random bytes in unpadded base64url.
const tokenLen = 43

// Load implements [Store].
func (s Server) Load(ctx context.Context, token string) (Record, bool, error) {
	key, ok := Key(token)
	if !ok {
		return Record{}, false, nil
	}
	return s.KV.Get(ctx, key)
}

// Save implements [Store].
func (s Server) Save(ctx context.Context, token string, version uint64, rec Record) (string, error) {
	if token == "" {
		return s.create(ctx, rec)
	}
	key, ok := Key(token)
	if !ok {
		return "", ErrConflict
	}
	return token, s.KV.Update(ctx, key, version, rec)
}

func (s Server) create(ctx context.Context, rec Record) (string, error) {
	// A collision of 256 random bits does not happen; the loop is there so that a broken
	// random source fails loudly instead of overwriting a session.
	for range 3 {
		token := NewToken()
		key, _ := Key(token)
		err := s.KV.Create(ctx, key, rec)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return "", err
		}
		return token, nil
	}
	return "", errors.New("typedsession: could not mint a unique token")
}

// Touch implements [Store].
func (s Server) Touch(ctx context.Context, token string, rec Record) (string, error) {
	key, ok := Key(token)
	if !ok {
		return token, nil
	}
	return token, s.KV.Touch(ctx, key, rec.Expiry)
}

// Delete implements [Store].
func (s Server) Delete(ctx context.Context, token string) error {
	key, ok := Key(token)
	if !ok {
		return nil
	}
	return s.KV.Delete(ctx, key)
}

// NewToken returns a new session token: 256 bits from crypto/rand in unpadded base64url.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Key returns the KV key of token, the SHA-256 digest of its bytes, and reports whether
// token is well formed (as minted by [NewToken]). A malformed token has no key.
func Key(token string) (string, bool) {
	if !wellFormed(token) {
		return "", false
	}
	var buf [tokenLen]byte
	sum := sha256.Sum256(append(buf[:0], token...))
	return string(sum[:]), true
}

// wellFormed reports whether token is 32 bytes in canonical unpadded base64url, as
// NewToken makes them. It allocates nothing: it runs on every request.
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
