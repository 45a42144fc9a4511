package cookiestore

import "encoding/binary"

// SetNonce replaces the nonce source of s, so that tests can seal reproducible values.
func SetNonce(s *Store, f func([]byte)) { s.nonce = f }

// KeyIDs returns the key ids of the ring of s, in order.
func KeyIDs(s *Store) []uint32 {
	ids := make([]uint32, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.id
	}
	return ids
}

// Plaintext authenticates and decrypts token with the ring of s, and returns the
// encoded record inside, whatever its format.
func Plaintext(s *Store, token string) ([]byte, bool) {
	raw, err := enc.DecodeString(token)
	if err != nil || len(raw) < overhead || raw[0] != format {
		return nil, false
	}
	id := binary.BigEndian.Uint32(raw[1:])
	for _, k := range s.keys {
		if k.id == id {
			pt, err := k.aead.Open(nil, raw[1+keyIDLen:headerLen], raw[headerLen:], k.ad)
			return pt, err == nil
		}
	}
	return nil, false
}
