package store

import (
	"context"
	"time"
)

// KV is what a server-side store implements: records by key, with compare-and-swap.
// [KVStore] turns a KV into a [Store]: it mints, validates and hashes the tokens, so a
// KV never sees a token. A key is the 32-byte SHA-256 digest of a token, as a string of
// raw bytes.
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

// OwnerKV is implemented by a [KV] that can find records by their Owner, which is what
// "log out everywhere" needs. It is optional: a KV without it serves sessions as usual,
// and the owner operations of a Manager over it return errors.ErrUnsupported.
//
// The Manager never changes the Owner of a stored record: a session whose owner changes
// is renewed (a new key is created and the old one deleted), so a KV maintains its index
// in Create and Delete only, and a record without an Owner costs nothing extra. Expired
// records are never returned, and stale index entries are cleaned, never returned.
// Records without an Owner are never listed: Owned("") finds nothing and
// DeleteOwned("", ...) deletes nothing.
type OwnerKV interface {
	KV

	// Owned returns the live records whose Owner is owner, by key. The Data of the
	// returned records may be nil.
	Owned(ctx context.Context, owner string) (map[string]Record, error)

	// DeleteOwned deletes every record whose Owner is owner, except the one at key except
	// (when except is not ""), and returns how many it deleted. A record created
	// concurrently may survive; one deleted is never brought back by a late Update.
	DeleteOwned(ctx context.Context, owner, except string) (int, error)
}
