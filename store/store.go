package store

import (
	"context"
)

// Store is where a Manager keeps its sessions, in terms of the token the client holds.
//
// Server-side stores implement the smaller [KV] interface and embed a [KVStore], which
// turns a KV into a Store and owns the tokens. A store that keeps the session in the
// token itself (a sealed cookie) implements Store directly.
//
// A Store must be safe for concurrent use. Not finding a session is a value (found ==
// false), never an error: err is for system failures only (network, disk, a closed
// client), and a system failure must never be reported as not found. Every method
// honours ctx cancellation and its deadline.
type Store interface {
	// Load returns the record the token refers to: a session, or a marker (a record
	// whose Ended is set). A malformed, forged, unknown or expired token is not found,
	// never an error.
	Load(ctx context.Context, token string) (rec Record, found bool, err error)

	// Save writes rec and returns the token that refers to it from now on. With token ""
	// Save creates a new session. Otherwise it replaces the record only if its stored
	// version is still version; if the record changed or is gone, Save returns an error
	// that wraps ErrConflict and changes nothing.
	//
	// The Manager ends a session by saving a marker over it (rec.Ended set, no Data). A
	// store that cannot end a session on the server (the session lives in the client's
	// cookie) returns an error that wraps errors.ErrUnsupported instead; the Manager
	// then relies on expiring the client's cookie.
	Save(ctx context.Context, token string, version uint64, rec Record) (string, error)

	// Touch sets the Active and Expiry of the session to those of rec, leaving its data
	// alone, and returns the token that refers to it from now on. rec is the session as
	// loaded with the new Active and Expiry. Touching a session that is gone does
	// nothing and is not an error: it never brings the session back.
	Touch(ctx context.Context, token string, rec Record) (string, error)
}

// OwnerStore is implemented by a [Store] that can find and end the sessions of one
// owner. A [KVStore] implements it when its KV implements [OwnerKV].
//
// Sessions are identified by their [ID], which is not a token: it cannot be used to
// act as the session. Markers are never listed, counted or deleted as sessions.
type OwnerStore interface {
	// Owned returns the live sessions of owner, by ID.
	Owned(ctx context.Context, owner string) (map[string]Record, error)
	// DeleteOwned ends every session of owner except the one held by the token except
	// (when except is not ""), and returns the IDs of those it ended.
	DeleteOwned(ctx context.Context, owner, except string) (ended []string, err error)
	// DeleteID ends the session with the given ID if it is a live session of owner, and
	// reports whether it did. A session of another owner is never ended.
	DeleteID(ctx context.Context, owner, id string) (bool, error)
}

// Immediate is implemented by a [Store] whose calls can report that they do no I/O
// and never wait long (a store in the process's memory). The Manager calls a store
// whose Immediate returns true without the deadline of its Options.StoreTimeout, which
// would cost more than such a call and could never fire.
type Immediate interface {
	Store
	Immediate() bool
}

// Named is implemented by a [Store] whose tokens depend on the name of the cookie (or
// header) that carries them: a sealed cookie binds its name into the seal, so that a
// value moved to another cookie does not open. typedsession.New calls WithName once
// with the Manager's cookie name (or its Options.Header) and keeps the Store it
// returns; the Store it was given is left as it was.
type Named interface {
	Store
	// WithName returns the Store to use for tokens carried under name, or an error if
	// the store cannot serve that name.
	WithName(name string) (Store, error)
}
