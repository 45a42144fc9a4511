package storetest

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/seed96b21533/typedsession/store"
)

// Counting wraps a Store and counts the calls the Manager makes to it, for tests and
// benchmarks that assert how many store round trips a request costs. It passes the
// owner operations through when the wrapped Store has them, and otherwise returns
// errors.ErrUnsupported. It reports the wrapped Store's [store.Immediate], so that a
// Manager calls a Counting as it calls the Store alone.
type Counting struct {
	store.Store
	Loads, Saves, Touches atomic.Int64
}

var (
	_ store.OwnerStore = (*Counting)(nil)
	_ store.Named      = (*Counting)(nil)
	_ store.Immediate  = (*Counting)(nil)
)

// Load implements [store.Store].
func (c *Counting) Load(ctx context.Context, token string) (store.Record, bool, error) {
	c.Loads.Add(1)
	return c.Store.Load(ctx, token)
}

// Save implements [store.Store].
func (c *Counting) Save(ctx context.Context, token string, version uint64, rec store.Record) (string, error) {
	c.Saves.Add(1)
	return c.Store.Save(ctx, token, version, rec)
}

// Touch implements [store.Store].
func (c *Counting) Touch(ctx context.Context, token string, rec store.Record) (string, error) {
	c.Touches.Add(1)
	return c.Store.Touch(ctx, token, rec)
}

// Owned implements [store.OwnerStore].
func (c *Counting) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	o, ok := c.Store.(store.OwnerStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return o.Owned(ctx, owner)
}

// DeleteOwned implements [store.OwnerStore].
func (c *Counting) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	o, ok := c.Store.(store.OwnerStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return o.DeleteOwned(ctx, owner, except)
}

// DeleteID implements [store.OwnerStore].
func (c *Counting) DeleteID(ctx context.Context, owner, id string) (bool, error) {
	o, ok := c.Store.(store.OwnerStore)
	if !ok {
		return false, errors.ErrUnsupported
	}
	return o.DeleteID(ctx, owner, id)
}

// Immediate implements [store.Immediate]: it returns what the wrapped Store's
// Immediate returns, and false when the wrapped Store has none.
func (c *Counting) Immediate() bool {
	im, ok := c.Store.(store.Immediate)
	return ok && im.Immediate()
}

// Total returns the number of Store calls so far.
func (c *Counting) Total() int64 {
	return c.Loads.Load() + c.Saves.Load() + c.Touches.Load()
}

// WithName implements [store.Named] by binding the wrapped Store, when it is one, to
// name; the counts go on.
func (c *Counting) WithName(name string) (store.Store, error) {
	if n, ok := c.Store.(store.Named); ok {
		s, err := n.WithName(name)
		if err != nil {
			return nil, err
		}
		c.Store = s
	}
	return c, nil
}
