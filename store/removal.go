package store

import "time"

// Removal reports a session a store ended on its own, without a Manager asking: its
// cleanup removed it after it expired, or it was evicted to make room.
type Removal struct {
	ID     string // the session's ID (see [ID] and [KeyID])
	Owner  string
	Reason RemovalReason
	Time   time.Time // when the store removed it, by the store's clock
}

// RemovalReason says why a store removed a session.
type RemovalReason uint8

// The reasons a store removes a session on its own.
const (
	Expired RemovalReason = iota + 1 // removed by a cleanup, after it expired
	Evicted                          // removed before it expired, to make room
)

// Notifier is implemented by a store that removes sessions on its own (a cleanup, an
// eviction policy), so that a Manager can report those as events too.
//
// Notify registers fn, to be called after each session the store removes on its own,
// until cancel is called; several functions may be registered (a store may serve
// several Managers). fn is called synchronously, from the goroutine that removed the
// session, never with a store lock held, and never for a marker (a record whose
// Ended is set) nor for a record the Manager deleted. A store that does not know the
// Owner of what it removed leaves it empty.
type Notifier interface {
	Notify(fn func(Removal)) (cancel func())
}
