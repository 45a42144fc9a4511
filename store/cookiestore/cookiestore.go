package cookiestore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// The envelope of a sealed cookie value, before base64url:
//
//	byte 0       format, 1
//	bytes 1-4    key id, big-endian
//	bytes 5-16   nonce, 12 random bytes
//	the rest     AES-256-GCM ciphertext of the record, then the 16-byte tag
const (
	format    = 1
	keyIDLen  = 4
	nonceLen  = 12
	tagLen    = 16
	headerLen = 1 + keyIDLen + nonceLen
	overhead  = headerLen + tagLen

	// recordMin is the length of the smallest encoded Record (the fixed header of
	// store.Record.AppendBinary and a zero-length Owner).
	recordMin = store.RecordHeaderLen + 1
	// openMin is the length of the smallest record Load accepts: one of format 1,
	// which cookies sealed by the first release hold.
	openMin = store.RecordHeaderLenV1 + 1
)

const (
	// KeySize is the size of every key in [Options.Keys]: 32 bytes (256 bits).
	KeySize = 32

	// CookieLimit is the size of a cookie that every browser accepts: its name, value and
	// attributes together (RFC 6265, section 6.1). Save never writes a bigger one.
	CookieLimit = 4096

	// DefaultAttributeBytes is the default of [Options.AttributeBytes].
	DefaultAttributeBytes = 200
)

// enc is the encoding of a cookie value. Strict: a value has exactly one encoding, so a
// changed character is never read as the same value.
var enc = base64.RawURLEncoding.Strict()

// minValueLen is the length of the shortest value Load accepts.
var minValueLen = enc.EncodedLen(overhead + openMin)

// Options configure a [Store]. Only Keys is required; the zero value of every other
// field is its default.
type Options struct {
	// Keys is the key ring: each key is exactly [KeySize] bytes from a secure random
	// source (crypto/rand, or `head -c 32 /dev/urandom | base64` decoded). The first key
	// seals every cookie written; every key opens. At least one key is required;
	// duplicates, wrong sizes and all-zero keys are errors from [New].
	//
	// The store does not use a key as given: it derives the AES-256 key and a 4-byte key
	// id from it with HKDF-SHA256, so a key also used elsewhere is never used twice for
	// the same purpose, and the key id reveals nothing about the key. Because the id
	// depends only on the key, reordering the ring never orphans a cookie.
	Keys [][]byte

	// AttributeBytes is how much of the [CookieLimit] is kept for the cookie's attributes
	// ("; Path=/; Domain=...; Expires=...; Max-Age=...; HttpOnly; Secure; SameSite=Lax"),
	// default [DefaultAttributeBytes]. The Manager's attributes take about 95 bytes with
	// Path=/ and no Domain, so the default leaves about 90 bytes for a Domain and a longer
	// Path; raise it for longer ones.
	AttributeBytes int

	// Verify, if set, is called by Load on every record that opened and has not expired,
	// before it is returned. Returning false makes the cookie "no session"; an error is
	// returned by Load as a system failure (it is never turned into "no session").
	//
	// A sealed cookie cannot be revoked on the server: Verify is the hook that closes the
	// gap. Keep a per-user "valid after" time (updated on logout everywhere or a password
	// change) and reject the records created before it; see the package documentation.
	Verify func(ctx context.Context, rec store.Record) (bool, error)

	// Now is the clock that expiry is checked against, default time.Now. For tests.
	Now func() time.Time
}

// Store keeps each session sealed in the client's cookie: it implements
// [store.Store] with no server state. See the package documentation for what
// that gives and what it cannot.
//
// A Store is safe for concurrent use.
type Store struct {
	name     string // the cookie (or header) name bound into every seal
	attr     int    // Options.AttributeBytes
	keys     []key  // keys[0] seals
	maxValue int    // the longest cookie value Save may return
	verify   func(context.Context, store.Record) (bool, error)
	now      func() time.Time
	nonce    func([]byte) // fills a nonce; replaced by tests only
	bufs     sync.Pool    // of *[]byte
}

type key struct {
	id   uint32
	aead cipher.AEAD
	ad   []byte // additional data: format, key id, cookie name
}

var (
	_ store.Store = (*Store)(nil)
	_ store.Named = (*Store)(nil)
)

// DefaultName is the cookie name a Store from [New] seals for until a Manager binds
// it to its own with [Store.WithName]: the name of the Manager's default cookie.
const DefaultName = "session"

// New returns a Store over the key ring in opts. It returns an error when the key ring
// is empty or holds a key that is not [KeySize] bytes, is all zero, or is a duplicate,
// and when the attribute allowance leaves no room for a session.
//
// The name of the cookie that carries a session is bound into its seal. A Manager
// tells the store its cookie name (or its Options.Header) when it is created, through
// [Store.WithName]; nothing else needs to agree.
func New(opts Options) (*Store, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("cookiestore: Options.Keys is empty; at least one 32-byte key is required")
	}
	name := DefaultName
	attr := opts.AttributeBytes
	if attr == 0 {
		attr = DefaultAttributeBytes
	}
	if attr < 0 {
		return nil, fmt.Errorf("cookiestore: Options.AttributeBytes is %d; want 0 (the default) or more", attr)
	}
	s := &Store{
		name:     name,
		attr:     attr,
		maxValue: CookieLimit - attr - len(name) - len("="),
		verify:   opts.Verify,
		now:      opts.Now,
		nonce:    randNonce,
	}
	if s.maxValue < enc.EncodedLen(overhead+recordMin) {
		return nil, fmt.Errorf("cookiestore: a %d-byte cookie name and %d bytes of attributes leave no room for a session", len(name), attr)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for i, k := range opts.Keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("cookiestore: Options.Keys[%d] is %d bytes; want %d", i, len(k), KeySize)
		}
		if subtle.ConstantTimeCompare(k, make([]byte, KeySize)) == 1 {
			return nil, fmt.Errorf("cookiestore: Options.Keys[%d] is all zero; use 32 bytes from crypto/rand", i)
		}
		for j := range i {
			if subtle.ConstantTimeCompare(k, opts.Keys[j]) == 1 {
				return nil, fmt.Errorf("cookiestore: Options.Keys[%d] repeats Options.Keys[%d]", i, j)
			}
		}
		dk, err := deriveKey(k, name)
		if err != nil {
			return nil, err
		}
		for j, o := range s.keys {
			if o.id == dk.id {
				// Two different keys whose 32-bit ids collide: about 1 in 2^32 per pair.
				return nil, fmt.Errorf("cookiestore: Options.Keys[%d] and Options.Keys[%d] have the same key id; replace one", i, j)
			}
		}
		s.keys = append(s.keys, dk)
	}
	return s, nil
}

const (
	infoAEAD = "typedsession cookiestore v1 AES-256-GCM key"
	infoID   = "typedsession cookiestore v1 key id"
)

func deriveKey(secret []byte, name string) (key, error) {
	aesKey, err := hkdf.Key(sha256.New, secret, nil, infoAEAD, 32)
	if err != nil {
		return key{}, fmt.Errorf("cookiestore: deriving a key: %w", err)
	}
	idBytes, err := hkdf.Key(sha256.New, secret, nil, infoID, keyIDLen)
	if err != nil {
		return key{}, fmt.Errorf("cookiestore: deriving a key id: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return key{}, fmt.Errorf("cookiestore: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("cookiestore: %w", err)
	}
	id := binary.BigEndian.Uint32(idBytes)
	return key{id: id, aead: aead, ad: additionalData(id, name)}, nil
}

// WithName returns a Store that seals and opens under the cookie (or header) name
// name, with this Store's keys and options: [typedsession.New] calls it with the
// Manager's cookie name. It returns an error when name and Options.AttributeBytes leave
// no room for a session.
func (s *Store) WithName(name string) (store.Store, error) {
	if name == s.name {
		return s, nil
	}
	b := &Store{
		name:     name,
		attr:     s.attr,
		maxValue: CookieLimit - s.attr - len(name) - len("="),
		verify:   s.verify,
		now:      s.now,
		nonce:    s.nonce,
	}
	if b.maxValue < enc.EncodedLen(overhead+recordMin) {
		return nil, fmt.Errorf("cookiestore: a %d-byte cookie name and %d bytes of attributes leave no room for a session", len(name), s.attr)
	}
	for _, k := range s.keys {
		k.ad = additionalData(k.id, name)
		b.keys = append(b.keys, k)
	}
	return b, nil
}

// additionalData returns what every seal of key id under the cookie name binds: the
// format, the key id and the name.
func additionalData(id uint32, name string) []byte {
	ad := append(make([]byte, 0, 1+keyIDLen+len(name)), format)
	ad = binary.BigEndian.AppendUint32(ad, id)
	return append(ad, name...)
}

func randNonce(b []byte) { rand.Read(b) } // crypto/rand.Read never returns an error

// Immediate implements [store.Immediate]: a Store does no I/O, unless its
// Options.Verify does, so it reports true when there is no Verify hook.
func (s *Store) Immediate() bool { return s.verify == nil }

// MaxData returns the largest Data, in bytes, that a record with an Owner of ownerLen
// bytes may have and still fit in the cookie (it is negative when nothing fits). With
// the default options and no Owner it is 2848.
func (s *Store) MaxData(ownerLen int) int {
	raw := s.maxValue * 3 / 4 // the longest input whose unpadded base64 fits in maxValue
	return raw - overhead - (recordMin - 1) - uvarintLen(uint64(ownerLen)) - ownerLen
}

// Load opens the sealed cookie value token. A value that is malformed, was not sealed by
// a key of the ring under this cookie name, was altered in any way, or holds a record at
// or past its Expiry is not found; so is one that Options.Verify rejects. Load returns
// an error only when Options.Verify does. rec.Version is the one that was sealed.
func (s *Store) Load(ctx context.Context, token string) (store.Record, bool, error) {
	rec, ok := s.open(token)
	if !ok || !rec.Expiry.After(s.now()) {
		return store.Record{}, false, nil
	}
	if s.verify != nil {
		ok, err := s.verify(ctx, rec)
		if err != nil {
			return store.Record{}, false, fmt.Errorf("cookiestore: Options.Verify: %w", err)
		}
		if !ok {
			return store.Record{}, false, nil
		}
	}
	return rec, true, nil
}

// open authenticates and decrypts token. rec.Data aliases a buffer of its own.
func (s *Store) open(token string) (rec store.Record, ok bool) {
	if len(token) < minValueLen || len(token) > CookieLimit {
		return rec, false
	}
	raw, err := enc.DecodeString(token)
	// The decoder skips '\r' and '\n'; the length check refuses them, so that a value
	// has exactly one spelling.
	if err != nil || enc.EncodedLen(len(raw)) != len(token) || len(raw) < overhead+openMin || raw[0] != format {
		return rec, false
	}
	id := binary.BigEndian.Uint32(raw[1:])
	for i := range s.keys {
		k := &s.keys[i]
		if k.id != id {
			continue
		}
		pt, err := k.aead.Open(raw[headerLen:headerLen], raw[1+keyIDLen:headerLen], raw[headerLen:], k.ad)
		if err != nil {
			return rec, false
		}
		if rec.UnmarshalBinary(pt) != nil {
			return store.Record{}, false
		}
		return rec, true
	}
	return rec, false
}

// Save seals rec with the first key of the ring and returns the new cookie value; token
// and version are not used. Saving a marker (rec.Ended set: the Manager ending the
// session) returns an error that wraps errors.ErrUnsupported: there is nothing to end on
// the server, and a copy of the cookie stays valid until its sealed expiry (see
// Options.Verify). The Manager then expires the client's cookie. A cookie store is last-writer-wins: it cannot know whether
// the client's cookie changed since it was read, so Save never reports a conflict, and
// of two concurrent requests that change one session, the response that reaches the
// browser last wins.
//
// If the cookie (its name, value and Options.AttributeBytes) would pass [CookieLimit],
// Save returns an error that wraps [typedsession.ErrTooLarge] and the client keeps its
// previous cookie. A record without an Expiry is an error: a sealed cookie must expire.
func (s *Store) Save(ctx context.Context, token string, version uint64, rec store.Record) (string, error) {
	if rec.Ended != store.NotEnded {
		return "", errEnd
	}
	return s.seal(rec)
}

// Touch seals rec, which carries the new Expiry, and returns the new cookie value, as
// [Store.Save] does: in a cookie store, the expiry is inside the seal.
func (s *Store) Touch(ctx context.Context, token string, rec store.Record) (string, error) {
	return s.seal(rec)
}

var errEnd = fmt.Errorf("cookiestore: a sealed cookie cannot be revoked on the server: %w", errors.ErrUnsupported)

// maxPooled is the largest buffer kept for reuse; larger ones are never made, as Save
// refuses a cookie over CookieLimit before it builds one.
const maxPooled = 2 * CookieLimit

func (s *Store) seal(rec store.Record) (string, error) {
	if rec.Expiry.IsZero() {
		return "", errors.New("cookiestore: the record has no Expiry; a sealed cookie must expire")
	}
	ptLen := rec.EncodedLen()
	rawLen := headerLen + ptLen + tagLen
	n := enc.EncodedLen(rawLen)
	if n > s.maxValue {
		return "", fmt.Errorf("cookiestore: %d bytes of session data seal to a %d-byte cookie value; at most %d bytes of data fit in a %d-byte cookie: %w",
			len(rec.Data), n, s.MaxData(len(rec.Owner)), CookieLimit, typedsession.ErrTooLarge)
	}

	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	if cap(*bp) < rawLen+n {
		*bp = make([]byte, 0, max(rawLen+n, 1024))
	}
	k := &s.keys[0]
	buf := append((*bp)[:0], format)
	buf = binary.BigEndian.AppendUint32(buf, k.id)
	buf = buf[:headerLen]
	s.nonce(buf[1+keyIDLen : headerLen])
	buf, _ = rec.AppendBinary(buf) // never fails
	sealed := k.aead.Seal(buf[headerLen:headerLen], buf[1+keyIDLen:headerLen], buf[headerLen:], k.ad)
	raw := buf[:headerLen+len(sealed)]
	raw = slices.Grow(raw, n) // a no-op: the buffer was sized for both
	out := raw[len(raw) : len(raw)+n]
	enc.Encode(out, raw)
	token := string(out)

	if cap(*bp) <= maxPooled {
		*bp = raw[:0]
		s.bufs.Put(bp)
	}
	return token, nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
