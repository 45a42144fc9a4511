package typedsession

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// maxTokenLen bounds the token the Manager passes to its Store: a cookie cannot be longer.
const maxTokenLen = 4096

// Manager keeps one value of type T per session. Create it with [New], install
// [Manager.Handler] as middleware, and use the typed helpers on the request context.
// A Manager is safe for concurrent use.
type Manager[T any] struct {
	store store.Store
	opts  Options
	// The cookie's fixed attributes, rendered: "; Path=/" and "; HttpOnly; Secure; ...".
	attrsPre, attrsPost string
}

// New returns a Manager that keeps its sessions in store. It checks opts and returns an
// error for an invalid combination; it does no I/O. New panics if store is nil.
func New[T any](st store.Store, opts Options) (*Manager[T], error) {
	if st == nil {
		panic("typedsession: New called with a nil Store")
	}
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	m := &Manager[T]{store: st, opts: o}
	m.attrsPre, m.attrsPost = o.cookieAttributes()
	return m, nil
}

func (m *Manager[T]) session(ctx context.Context) *session[T] {
	s, ok := ctx.Value(m).(*session[T])
	if !ok {
		panic("typedsession: no session in the context: is the request served through Manager.Handler?")
	}
	return s
}

// WithSession returns a copy of ctx that carries an in-memory session holding v, for
// unit tests of handlers that run without the middleware and without a store: Get,
// Put, Update and the rest work, and nothing is ever saved.
func (m *Manager[T]) WithSession(ctx context.Context, v T) context.Context {
	now := m.now()
	s := &session[T]{Context: ctx, m: m, loaded: true, found: true, val: v}
	s.rec = store.Record{Created: now, Expiry: m.expiry(now, now), Persist: m.opts.Persistent}
	return s
}

// Get returns the session's value: the zero T when the request has no session. It
// loads the session on first use. The value is a shallow copy: change the session with
// Put or Update, not through slices or maps of the copy.
func (m *Manager[T]) Get(ctx context.Context) (T, error) {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		var zero T
		return zero, err
	}
	return s.val, nil
}

// Put replaces the session's value, creating the session if there is none. Concurrent
// requests' changes to the same session are overwritten: the last writer wins.
func (m *Manager[T]) Put(ctx context.Context, v T) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	s.val, s.fns, s.replaced, s.dirty = v, nil, true, true
	return s.late(ctx)
}

// Update applies fn to the session's value, creating the session if there is none. If
// another request changes the session before this one saves it, the session is
// reloaded and the request's Update functions are applied again, in order, up to
// Options.MaxRetries times: fn must be safe to run more than once, on a fresh value. If
// fn returns an error, Update returns it and fn's changes are dropped: fn runs on a
// shallow copy, so return the error before changing what the copy shares (the
// elements of a slice or map).
func (m *Manager[T]) Update(ctx context.Context, fn func(*T) error) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	v := s.val
	if err := fn(&v); err != nil {
		return err
	}
	s.val, s.dirty = v, true
	if !s.replaced {
		s.fns = append(s.fns, fn)
	}
	return s.late(ctx)
}

// Destroy ends the session: it is removed from the store at once and the client's
// cookie is expired. The rest of the request sees a new, empty session. A copy of the
// old token is useless afterwards, except with a store that cannot revoke tokens (the
// cookie store; see its documentation).
func (m *Manager[T]) Destroy(ctx context.Context) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if !s.loaded {
		s.loaded, s.client = true, m.token(s.r)
		s.token = s.client
	}
	if s.token != "" {
		err := m.store.Delete(ctx, s.token)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			if s.started {
				return s.lateError(fmt.Errorf("%w (Destroy on a store that cannot revoke tokens)", ErrResponseStarted))
			}
		case err != nil:
			return s.fail(fmt.Errorf("typedsession: destroy: %w", err))
		}
	}
	s.clear()
	return nil
}

// Renew gives the session a new token and ends the old one, keeping the data: call it
// on login and on any change of privilege, so that a token planted or seen before
// cannot ride along. Renew keeps the session's creation time, so it does not extend
// the absolute Lifetime. It does nothing when there is no session.
func (m *Manager[T]) Renew(ctx context.Context) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	if !s.found && !s.dirty {
		return nil
	}
	s.renew = true
	return s.late(ctx)
}

// RememberMe makes the session's cookie persistent (it carries Max-Age and outlives the
// browser session) or not, creating the session if there is none.
func (m *Manager[T]) RememberMe(ctx context.Context, on bool) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	s.rec.Persist, s.dirty = on, true
	return s.late(ctx)
}

// SetOwner records who the session belongs to (a user id), so that all the sessions of
// one owner can be listed and ended; "" clears it. A session whose owner changes is
// renewed when it is saved, as on login.
func (m *Manager[T]) SetOwner(ctx context.Context, owner string) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return err
	}
	if owner == s.owner {
		return nil
	}
	s.owner, s.dirty = owner, true
	s.renew = s.renew || s.found
	return s.late(ctx)
}

// Expiry returns when the session ends if it is not used again: the earlier of its
// idle and absolute deadlines. It returns the zero time when there is no session.
func (m *Manager[T]) Expiry(ctx context.Context) (time.Time, error) {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return time.Time{}, err
	}
	switch {
	case s.dirty && !s.found:
		now := m.now()
		return m.expiry(now, now), nil
	case s.found:
		return s.rec.Expiry, nil
	}
	return time.Time{}, nil
}

// token returns the token the client sent, or "".
func (m *Manager[T]) token(r *http.Request) string {
	if r == nil {
		return ""
	}
	var t string
	if m.opts.Header != "" {
		t = r.Header.Get(m.opts.Header)
	} else {
		t = cookieValue(r.Header, m.opts.CookieName)
	}
	if len(t) > maxTokenLen {
		return ""
	}
	return t
}

// now returns the current time to the millisecond, the precision of a Record.
func (m *Manager[T]) now() time.Time {
	return time.UnixMilli(time.Now().UnixMilli())
}

// expiry returns the Expiry of a session created at created and used at now.
func (m *Manager[T]) expiry(created, now time.Time) time.Time {
	e := created.Add(m.opts.Lifetime)
	if m.opts.IdleTimeout > 0 {
		if idle := now.Add(m.opts.IdleTimeout); idle.Before(e) {
			e = idle
		}
	}
	return e
}

// live reports whether rec is a session that has not ended at now, by the Manager's own
// clock and current options, whatever the store's cleanup did.
func (m *Manager[T]) live(rec store.Record, now time.Time) bool {
	return now.Before(rec.Expiry) && now.Before(rec.Created.Add(m.opts.Lifetime))
}

// decode decodes data into *v, which must hold the zero T, applying
// Options.OnDecodeError when it fails; *v is then the zero T again.
func (m *Manager[T]) decode(ctx context.Context, data []byte, v *T) error {
	err := m.opts.Codec.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var zero T
	*v = zero
	if m.opts.OnDecodeError != nil {
		if herr := m.opts.OnDecodeError(ctx, err); herr != nil {
			return fmt.Errorf("typedsession: decode: %w", herr)
		}
		return nil
	}
	m.opts.Logger.WarnContext(ctx, "typedsession: stored session no longer decodes; starting a fresh one", "err", err)
	return nil
}
