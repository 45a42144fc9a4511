package pgstore_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// TestKV runs the KV conformance suite (OwnerKV included) with pgx's default
// exec mode, and with the two modes that work behind PgBouncer in transaction
// mode: each statement then prepares nothing that must outlive its
// transaction.
func TestKV(t *testing.T) {
	t.Parallel()
	for _, m := range execModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			pool := modePool(t, m.mode)
			storetest.RunKV(t, func(t *testing.T) store.KV {
				return newStore(t, pool, pgstore.Options{}).KV
			})
		})
	}
}

// TestManager runs the Manager conformance suite, 50 concurrent increments on
// one session included, over a pool.
func TestManager(t *testing.T) {
	t.Parallel()
	pool := newPool(t, nil)
	storetest.RunManager(t, func(t *testing.T) store.Store {
		return newStore(t, pool, pgstore.Options{})
	}, storetest.ManagerOptions{})
}
