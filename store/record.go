package store

import "time"

// Record is what a store keeps for one session.
//
// A store keeps every field and gives it back unchanged; only the Manager interprets them.
type Record struct {
	// Data is the session value as encoded by the Manager's Codec.
	Data []byte
	// Expiry is the instant the session ends: the earlier of its idle and its absolute
	// deadline. A store must never return a record at or after its Expiry, and may
	// forget it from then on.
	Expiry time.Time
	// Created is when the session began; the absolute lifetime counts from it.
	Created time.Time
	// Version is set by the Manager on every write; stores use it for compare-and-swap
	// (see KV.Update). No store changes it.
	Version uint64
	// Owner identifies the user the session belongs to, or is empty.
	Owner string
	// Persist reports whether the session cookie outlives the browser session
	// ("remember me").
	Persist bool
}
