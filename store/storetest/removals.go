package storetest

import (
	"slices"
	"strings"
	"sync"

	"github.com/seed96b21533/typedsession/store"
)

// Removals collects what a function registered with a [store.Notifier] hears, for
// tests of a store's Notify: register its Add, and read what arrived with Take. It is
// safe for concurrent use.
type Removals struct {
	mu  sync.Mutex
	got []store.Removal
}

// Add records rm; it is the function to register with Notify.
func (r *Removals) Add(rm store.Removal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rm)
}

// Take returns what was heard since the last Take, sorted by ID.
func (r *Removals) Take() []store.Removal {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	slices.SortFunc(got, func(a, b store.Removal) int { return strings.Compare(a.ID, b.ID) })
	return got
}
