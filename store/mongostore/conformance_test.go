package mongostore_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// TestKV runs the KV conformance suite (OwnerKV included, concurrent updates and
// creates among it) in each write mode that is atomic on the test server: in place
// and claimed on MongoDB, claimed on FerretDB.
func TestKV(t *testing.T) {
	t.Parallel()
	for _, mode := range writeModes(t) {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			storetest.RunKV(t, func(t *testing.T) store.KV {
				s, _ := newStore(t, mongostore.Options{Writes: mode})
				return s.KV
			})
		})
	}
}

// TestManager runs the Manager conformance suite (50 concurrent increments on one
// session, logout that sticks, races with Renew and Destroy, the owner operations)
// in each write mode that is atomic on the test server.
func TestManager(t *testing.T) {
	t.Parallel()
	for _, mode := range writeModes(t) {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			storetest.RunManager(t, func(t *testing.T) store.Store {
				s, _ := newStore(t, mongostore.Options{Writes: mode})
				return s
			}, storetest.ManagerOptions{})
		})
	}
}
