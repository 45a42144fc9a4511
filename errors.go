package typedsession

import (
	"errors"

	"github.com/seed96b21533/typedsession/store"
)

// Sentinel errors. Compare with [errors.Is]: they are usually wrapped.
var (
	// ErrConflict reports that a conditional write lost a race: the stored record is no
	// longer at the version that was read (another request changed it), and the
	// request's changes could not be re-applied within Options.MaxRetries. It is the
	// same value as store.ErrConflict.
	ErrConflict = store.ErrConflict

	// ErrSessionEnded reports a session that another request ended while this one held
	// it: renewed (Renew, or a login that changed its owner), destroyed (Destroy),
	// revoked (DestroyOwner, DestroyOthers, DestroyID) or expired. The request's
	// change is not saved and its client's cookie is left alone, so that a response
	// racing a login or a logout never undoes it. A request that arrives with the token
	// of a session renewed or destroyed moments ago gets it too, rather than a new
	// session that would replace the client's new cookie.
	ErrSessionEnded = errors.New("typedsession: session ended by another request")

	// ErrTooManySessions reports a login refused because its owner holds
	// Options.MaxOwnerSessions sessions already (with Options.RefuseOverLimit), or, under
	// concurrent logins, a login whose session the limit ended at once.
	ErrTooManySessions = errors.New("typedsession: too many sessions for this owner")

	// ErrUnavailable reports that the store failed or did not answer within
	// Options.StoreTimeout. The error wraps the store's own error too.
	ErrUnavailable = errors.New("typedsession: session store unavailable")

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

// storeError is a failure of the store (or of its deadline) in one operation. It is
// ErrUnavailable and wraps the store's error.
type storeError struct {
	op  string
	err error
}

func (e *storeError) Error() string {
	return "typedsession: " + e.op + ": session store unavailable: " + e.err.Error()
}

func (e *storeError) Unwrap() error        { return e.err }
func (e *storeError) Is(target error) bool { return target == ErrUnavailable }

// endedError reports the session ended for reason.
type endedError struct{ reason string }

func (e *endedError) Error() string        { return ErrSessionEnded.Error() + " (" + e.reason + ")" }
func (e *endedError) Is(target error) bool { return target == ErrSessionEnded }
