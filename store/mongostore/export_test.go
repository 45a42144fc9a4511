package mongostore

// SetHook makes the claimed writes of s call hook at their named points: "claimed"
// once the claim is held, before the write it guards is sent; and DeleteExpired, while
// a function registered with Notify is in place, "expired found" once a round has
// found its documents, before it deletes them.
// A nil hook removes it.
func SetHook(s *Store, hook func(point string)) {
	if hook == nil {
		s.kv.hook.Store(nil)
		return
	}
	s.kv.hook.Store(&hook)
}

// The claims' timing, for the tests.
const (
	MaxHold     = maxHold
	ClaimMargin = claimMargin
	Grace       = claimedGrace
)

// ClaimID returns the _id of the claim of generation gen on key at version, and what
// the claim is on.
func ClaimID(key string, version, gen uint64) (id, on string) {
	on = claimOn(key, version)
	return claimID(on, gen), on
}

// Answered reports whether err says the server ran a claimed write to its end, so
// that its claim may go.
var Answered = answered
