package cookiestore

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
