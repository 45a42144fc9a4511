package typedsession

import (
	"context"
	"strconv"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// Event is something that happened to a session, or to a call of the store, as
// Options.OnEvent receives it: for an audit log, or for metrics (sessions created,
// ended by kind, conflicts retried, store errors and latency) without a dependency.
//
// An event is reported after the store confirmed the change it describes, never for a
// change that was rolled back or lost a race, and the events of one session come in
// the order they happened. Events carry the session's ID ([store.ID]), never its token.
type Event struct {
	Kind EventKind
	// Time is when the event happened, by the Manager's clock (the store's for
	// SessionEvicted and SessionCleaned).
	Time time.Time
	// ID identifies the session: for SessionRenewed and SessionOwned, the new one. It is
	// empty for ConflictRetried and StoreCalled.
	ID string
	// PreviousID is, for SessionRenewed and SessionOwned of a session renewed at login,
	// the ID of the token the session had before.
	PreviousID string
	// Owner is the session's owner, if it has one.
	Owner string
	// Reason says more: for SessionRevoked, which call ended the session
	// ("DestroyOwner", "DestroyOthers", "DestroyID" or "owner limit"); for StoreCalled,
	// the operation ("load", "save", "create", "renew", "end", "touch", ...).
	Reason string
	// Duration is, for StoreCalled, how long the call took.
	Duration time.Duration
	// Err is, for StoreCalled, the call's failure (ErrUnavailable, with the store's
	// error and a timeout inside), or nil.
	Err error
}

// EventKind says what an [Event] reports.
type EventKind uint8

// The kinds of events.
const (
	// SessionCreated: a new session was stored.
	SessionCreated EventKind = iota + 1
	// SessionRenewed: the session moved to a new token (Renew, or a login).
	SessionRenewed
	// SessionOwned: the session was given an owner (SetOwner, at login).
	SessionOwned
	// SessionDestroyed: the session was ended by its user (Destroy).
	SessionDestroyed
	// SessionRevoked: the session was ended by another call: DestroyOwner,
	// DestroyOthers, DestroyID, or the owner limit of Options.MaxOwnerSessions.
	SessionRevoked
	// SessionExpired: the session was found expired when a request read it.
	SessionExpired
	// SessionEvicted: the store removed the session to make room (memstore).
	SessionEvicted
	// SessionCleaned: the store's cleanup removed the session after it expired.
	SessionCleaned
	// ConflictRetried: a write lost a race with another request's and was retried on
	// the reloaded session.
	ConflictRetried
	// StoreCalled: a call of the store ended, in Duration; Err says if it failed or
	// timed out.
	StoreCalled
)

var kindNames = [...]string{
	SessionCreated:   "created",
	SessionRenewed:   "renewed",
	SessionOwned:     "owned",
	SessionDestroyed: "destroyed",
	SessionRevoked:   "revoked",
	SessionExpired:   "expired",
	SessionEvicted:   "evicted",
	SessionCleaned:   "cleaned",
	ConflictRetried:  "conflict retried",
	StoreCalled:      "store called",
}

// String returns the kind's name in lower case: "created", "renewed", ...
func (k EventKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// emit reports e to Options.OnEvent, if set.
func (m *Manager[T]) emit(ctx context.Context, e Event) {
	if m.opts.OnEvent == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = m.now()
	}
	m.opts.OnEvent(ctx, e)
}

// emitting reports whether events are wanted, so that a caller skips building them.
func (m *Manager[T]) emitting() bool { return m.opts.OnEvent != nil }

// removed reports a session the store removed on its own.
func (m *Manager[T]) removed(r store.Removal) {
	kind := SessionCleaned
	if r.Reason == store.Evicted {
		kind = SessionEvicted
	}
	m.emit(context.Background(), Event{Kind: kind, Time: r.Time, ID: r.ID, Owner: r.Owner})
}
