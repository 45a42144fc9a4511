package redisstore

// PrefixOf returns the key prefix of s, for tests that look at the keyspace.
func PrefixOf(s *Store) string { return s.KV.(*kv).prefix }
