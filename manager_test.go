package typedsession_test

import (
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

func TestManagerOverMemstore(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) typedsession.Store {
		return memstore.New(memstore.Options{})
	}, storetest.ManagerOptions{})
}
