package typedsession

import (
	"errors"

	"github.com/seed96b21533/typedsession/store"
)

// Sentinel errors. Compare with [errors.Is]: they are usually wrapped.
var (
	// ErrConflict reports that a conditional write lost a race: the stored record is no
	// longer at the version that was read (another request changed it, or it is gone).
	// It is the same value as store.ErrConflict.
	ErrConflict = store.ErrConflict

	// ErrTooLarge reports a session that is too large for its store (a sealed cookie over
	// the browser's 4096-byte limit, a value over a server's limit). It is the same
	// value as store.ErrTooLarge.
	ErrTooLarge = store.ErrTooLarge

	// ErrResponseStarted reports a session change that could not reach the client because
	// the response had already started (its headers were sent), so a new cookie could not be set.
	ErrResponseStarted = errors.New("typedsession: response already started; the session cookie could not be sent")
)

// errReplaced is what a handler's Write returns after a session failure made the
// ErrorHandler write the response instead.
var errReplaced = errors.New("typedsession: the response was replaced by Options.ErrorHandler after a session failure")
