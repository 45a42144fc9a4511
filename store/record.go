package store

import (
	"strconv"
	"time"
)

// Record is what a store keeps for one session.
//
// A store keeps every field and gives it back unchanged; only the Manager interprets them.
// Its times are whole milliseconds (the Manager makes them so), and a store may keep
// them to the millisecond and no finer.
type Record struct {
	// Data is the session value as encoded by the Manager's Codec. A marker (see Ended)
	// has none.
	Data []byte
	// Expiry is the instant the record ends: for a session, the earlier of its idle and
	// its absolute deadline; for a marker, the end of its grace period. A store must
	// never return a record at or after its Expiry, and may forget it from then on.
	Expiry time.Time
	// Created is when the session began; the absolute lifetime counts from it.
	Created time.Time
	// Active is when the session was last used, to within the Manager's touch
	// interval; the idle timeout counts from it. It is zero in records written before
	// the field existed (format 1), and the Manager then counts from Created.
	Active time.Time
	// Version is set by the Manager on every write; stores use it for compare-and-swap
	// (see KV.Update). No store changes it.
	Version uint64
	// Owner identifies the user the session belongs to, or is empty.
	Owner string
	// RememberMe reports whether the session cookie outlives the browser session.
	RememberMe bool
	// Ended is set on a marker: the data-less record the Manager leaves for a short
	// grace period under the key of a session that ended by Renew or Destroy, so that a
	// request still bearing the old token is recognised instead of taken for a new
	// visitor. A marker is never a session: it has no Data, it never leads to the
	// session that replaced it, and an owner's index never lists it.
	Ended EndReason
}

// EndReason says why a marker's session ended.
type EndReason uint8

// The reasons a session ends with a marker.
const (
	NotEnded  EndReason = iota // a session, not a marker
	Renewed                    // replaced by a new token (Renew, or a change of owner)
	Destroyed                  // ended by its user (Destroy)
)

// String returns "renewed", "destroyed", or "" for NotEnded.
func (r EndReason) String() string {
	switch r {
	case Renewed:
		return "renewed"
	case Destroyed:
		return "destroyed"
	case NotEnded:
		return ""
	}
	return "EndReason(" + strconv.Itoa(int(r)) + ")"
}
