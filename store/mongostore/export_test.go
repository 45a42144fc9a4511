package mongostore

// SetHook makes the claimed writes of s call hook at their named points: "claimed"
// once the claim is held, before the write it guards is sent.
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
