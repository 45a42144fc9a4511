package typedsession_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/storetest"
)

func TestManagerOverMemstore(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) store.Store {
		return newMemstore(t)
	}, storetest.ManagerOptions{})
}
