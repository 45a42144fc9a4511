package main

import (
	"context"
	"sync"
	"time"

	"github.com/seed96b21533/typedsession"
)

// activity keeps, in memory and bounded, what Options.OnEvent reports: the recent
// events of each owner (the account page's activity list), how each recently ended
// session ended (so that a browser signed out from elsewhere is told why), and, for
// the request in flight, its store calls.
type activity struct {
	mu      sync.Mutex
	byOwner *fifo[string, []typedsession.Event]
	ended   *fifo[string, typedsession.Event] // by session ID
}

const (
	eventsPerOwner = 20
	maxOwners      = 1000
	maxEnded       = 10000
)

func newActivity() *activity {
	return &activity{
		byOwner: newFIFO[string, []typedsession.Event](maxOwners),
		ended:   newFIFO[string, typedsession.Event](maxEnded),
	}
}

// record is the Manager's Options.OnEvent. It runs on the request's goroutine, so it
// only appends under a lock.
func (a *activity) record(ctx context.Context, e typedsession.Event) {
	if e.Kind == typedsession.StoreCalled {
		if c, ok := ctx.Value(callsKey{}).(*calls); ok {
			c.add(e)
		}
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch e.Kind {
	case typedsession.SessionDestroyed, typedsession.SessionRevoked, typedsession.SessionExpired,
		typedsession.SessionEvicted, typedsession.SessionCleaned:
		a.ended.put(e.ID, e)
	}
	if e.Owner == "" {
		return
	}
	events, _ := a.byOwner.get(e.Owner)
	if len(events) == eventsPerOwner {
		events = events[1:]
	}
	a.byOwner.put(e.Owner, append(events[:len(events):len(events)], e))
}

// recent returns the owner's events, the newest first.
func (a *activity) recent(owner string) []typedsession.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	events, _ := a.byOwner.get(owner)
	out := make([]typedsession.Event, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e
	}
	return out
}

// endOf returns how the session id ended, if it ended recently.
func (a *activity) endOf(id string) (typedsession.Event, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ended.get(id)
}

// calls collects the store calls of one request (StoreCalled events).
type calls struct {
	mu   sync.Mutex
	list []storeCall
}

type storeCall struct {
	Op   string
	Took time.Duration
	Err  error
}

type callsKey struct{}

func (c *calls) add(e typedsession.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.list) < 64 {
		c.list = append(c.list, storeCall{Op: e.Reason, Took: e.Duration, Err: e.Err})
	}
}

func (c *calls) snapshot() []storeCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]storeCall(nil), c.list...)
}

// fifo is a map that holds at most n keys, forgetting the oldest first. It is not
// safe for concurrent use.
type fifo[K comparable, V any] struct {
	n     int
	m     map[K]V
	order []K // keys by first put; order[head:] then order[:head] is oldest to newest
	head  int
}

func newFIFO[K comparable, V any](n int) *fifo[K, V] {
	return &fifo[K, V]{n: n, m: make(map[K]V)}
}

func (f *fifo[K, V]) get(k K) (V, bool) {
	v, ok := f.m[k]
	return v, ok
}

func (f *fifo[K, V]) put(k K, v V) {
	if _, ok := f.m[k]; !ok {
		if len(f.order) < f.n {
			f.order = append(f.order, k)
		} else {
			delete(f.m, f.order[f.head])
			f.order[f.head] = k
			f.head = (f.head + 1) % f.n
		}
	}
	f.m[k] = v
}
