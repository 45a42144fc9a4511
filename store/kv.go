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
// the state of any background cleanup. Every method honours ctx cancellation and its
// deadline.
//
// A KV stores markers (records whose Ended is set) like any other record; it need not
// know what they mean, except that an owner's index never lists them (see [OwnerKV]).
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

	// Touch sets the Active and Expiry of the live record at key, leaving every other
	// field alone. Touching a missing or expired key does nothing and is not an error.
	Touch(ctx context.Context, key string, active, expiry time.Time) error

	// Delete removes the record at key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// OwnerKV is implemented by a [KV] that can find records by their Owner, which is what
// "log out everywhere" needs. It is optional: a KV without it serves sessions as usual,
// and the owner operations of a Manager over it return errors.ErrUnsupported.
//
// The Manager never gives a stored session another Owner: a session whose owner changes
// is renewed (its record becomes a marker and a new key is created). So an index is
// kept in Create (a record with an Owner joins it), in Update (a marker leaves it) and
// in Delete, and a record without an Owner costs nothing extra. Owned and DeleteOwned
// see only live sessions: expired records and markers are never returned nor counted,
// and stale index entries are cleaned, never returned. Records without an Owner are
// never listed: Owned("") finds nothing and DeleteOwned("", ...) deletes nothing.
type OwnerKV interface {
	KV

	// Owned returns the live sessions whose Owner is owner, by key. The Data of the
	// returned records may be nil.
	Owned(ctx context.Context, owner string) (map[string]Record, error)

	// DeleteOwned deletes every session whose Owner is owner, except the one at key
	// except (when except is not ""), and returns the keys of those it deleted. A record
	// created concurrently may survive; one deleted is never brought back by a late
	// Update.
	DeleteOwned(ctx context.Context, owner, except string) (deleted []string, err error)
}
