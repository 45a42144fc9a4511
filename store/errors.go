package store

import "errors"

// Sentinel errors a store returns. Compare with [errors.Is]: they are usually wrapped.
// The root package exports the same values (typedsession.ErrConflict is ErrConflict).
var (
	// ErrConflict reports that a conditional write lost a race: the stored record is no
	// longer at the version that was read (another request changed it, or it is gone),
	// or a record already exists where one was to be created.
	ErrConflict = errors.New("typedsession: session changed concurrently")

	// ErrTooLarge reports a session that is too large for its store (a sealed cookie over
	// the browser's 4096-byte limit, a value over a server's limit).
	ErrTooLarge = errors.New("typedsession: session too large")
)
