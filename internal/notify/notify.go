// Package notify keeps the functions a store calls when it removes sessions on its own
// (store.Notifier), for the stores of this module.
package notify

import (
	"sync"
	"sync/atomic"

	"github.com/seed96b21533/typedsession/store"
)

// List is a list of functions to call with each store.Removal. The zero List is empty
// and ready to use; it is safe for concurrent use.
type List struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(store.Removal)
	n    atomic.Int32 // len(fns), read without the lock
}

// Add adds fn to the list, until cancel is called.
func (l *List) Add(fn func(store.Removal)) (cancel func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = make(map[int]func(store.Removal))
	}
	id := l.next
	l.next++
	l.fns[id] = fn
	l.n.Store(int32(len(l.fns)))
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fns, id)
		l.n.Store(int32(len(l.fns)))
	}
}

// Active reports whether the list has any function, so that a store builds no
// removals nobody listens to.
func (l *List) Active() bool { return l.n.Load() > 0 }

// Notify calls every function of the list with each removal, in order. The caller holds
// no lock of the store.
func (l *List) Notify(removals ...store.Removal) {
	if len(removals) == 0 || !l.Active() {
		return
	}
	l.mu.Lock()
	fns := make([]func(store.Removal), 0, len(l.fns))
	for _, fn := range l.fns {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, r := range removals {
		for _, fn := range fns {
			fn(r)
		}
	}
}
