package typedsession

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// Manager keeps one value of type T per session. Create it with [New], install
// [Manager.Handler] as middleware, and use the typed helpers on the request context.
// A Manager is safe for concurrent use.
type Manager[T any] struct {
	store store.Store // nil for a Manager from NewTesting
	opts  Options
	// The cookie's fixed attributes, rendered: "; Path=/" and "; HttpOnly; Secure; ...".
	attrsPre, attrsPost string

	zeroOnce sync.Once
	zero     []byte // the encoding of the zero T, or nil if it does not encode

	immediate bool // the store does no I/O: its calls need no deadline
}

// New returns a Manager that keeps its sessions in st. It checks opts and returns an
// error for an invalid combination; it does no I/O. If st is a [store.Named] (the
// cookie store), New binds it to the Manager's cookie name. New panics if st is nil.
func New[T any](st store.Store, opts Options) (*Manager[T], error) {
	if st == nil {
		panic("typedsession: New called with a nil Store")
	}
	return newManager[T](st, opts)
}

// NewTesting returns a Manager without a store, for unit tests of handlers: it serves
// the contexts that [Manager.WithSession] seeds, and nothing else. A request that
// reaches it without a seeded session panics, as a Manager used outside its Handler
// does.
func NewTesting[T any](opts Options) (*Manager[T], error) {
	return newManager[T](nil, opts)
}

func newManager[T any](st store.Store, opts Options) (*Manager[T], error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if n, ok := st.(store.Named); ok {
		name := o.CookieName
		if o.Header != "" {
			name = o.Header
		}
		if st, err = n.WithName(name); err != nil {
			return nil, fmt.Errorf("typedsession: the store cannot serve the cookie %q: %w", name, err)
		}
	}
	if o.MaxOwnerSessions > 0 && st != nil {
		if _, ok := st.(store.OwnerStore); !ok {
			return nil, fmt.Errorf("typedsession: Options.MaxOwnerSessions needs a store that lists sessions by owner; %T does not: %w", st, errors.ErrUnsupported)
		}
	}
	m := &Manager[T]{store: st, opts: o}
	if im, ok := st.(store.Immediate); ok {
		m.immediate = im.Immediate()
	}
	m.attrsPre, m.attrsPost = o.cookieAttributes()
	if n, ok := st.(store.Notifier); ok && o.OnEvent != nil {
		n.Notify(m.removed)
	}
	return m, nil
}

// session returns the request's session, and panics if ctx has none.
func (m *Manager[T]) session(ctx context.Context) *session[T] {
	s := m.current(ctx)
	if s == nil {
		panic("typedsession: no session in the context: is the request served through Manager.Handler?")
	}
	return s
}

// current returns the request's session in ctx, or nil when ctx has none.
func (m *Manager[T]) current(ctx context.Context) *session[T] {
	s, _ := ctx.Value(m).(*session[T])
	return s
}

// begin returns the request's session, locked and loaded; the caller unlocks it. On a
// load failure it returns the error with the session unlocked.
func (m *Manager[T]) begin(ctx context.Context) (*session[T], error) {
	s := m.session(ctx)
	s.mu.Lock()
	if err := s.load(ctx); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return s, nil
}

// WithSession returns a copy of ctx that carries an in-memory session holding v, for
// unit tests of handlers, with or without the middleware: Get, Put, Update, Swap,
// Destroy and the rest work on it, and nothing is ever saved. [Manager.Handler] serves
// a request whose context carries such a session with that session. The calls that
// list or end other sessions (Sessions, DestroyOthers, DestroyOwner, DestroyID) still
// go to the Manager's store; on a Manager from [NewTesting] they return an error that
// wraps errors.ErrUnsupported.
func (m *Manager[T]) WithSession(ctx context.Context, v T) context.Context {
	now := m.now()
	s := &session[T]{Context: ctx, m: m, seeded: true, state: live, val: v, remember: m.opts.RememberMe}
	s.rec = store.Record{Created: now, Active: now, Expiry: m.expiry(now, now), RememberMe: m.opts.RememberMe}
	return s
}

// Get returns the session's value: the zero T when the request has no session. It
// loads the session on first use. The value is a shallow copy: change the session with
// Put or Update, not through slices or maps of the copy.
func (m *Manager[T]) Get(ctx context.Context) (T, error) {
	s, err := m.begin(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer s.mu.Unlock()
	return s.val, nil
}

// Put replaces the session's value, creating the session if there is none. On an
// existing session Put always writes, and concurrent requests' changes are overwritten:
// the last writer wins. Without a session, a Put of a value that encodes like the zero T
// creates nothing.
func (m *Manager[T]) Put(ctx context.Context, v T) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.val, s.fns, s.put, s.changed = v, nil, true, true
	return s.late(ctx)
}

// Update applies fn to the session's value, creating the session if there is none. If
// another request changes the session before this one saves it, the session is
// reloaded and the request's Update functions are applied again, in order, up to
// Options.MaxRetries times: fn must be safe to run more than once, on a fresh value. If
// fn returns an error, Update returns it and fn's changes are dropped: fn runs on a
// shallow copy, so return the error before changing what the copy shares (the
// elements of a slice or map). An Update whose result encodes as the session did
// writes nothing, and creates no session where there was none.
func (m *Manager[T]) Update(ctx context.Context, fn func(*T) error) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.apply(fn); err != nil {
		return err
	}
	return s.late(ctx)
}

// Swap applies fn to the session's value as Update does, then saves the session at once
// (with the request's other changes) and returns the value fn was given in the attempt
// that was saved. It reads and changes in one compare-and-swap, so of two requests that
// Swap the same change (taking a one-time flash message or token and clearing it),
// exactly one sees the value before it; the other sees it taken. fn must leave what
// the value it was given shares (slices, maps) as it was: replace a slice or a map,
// don't change its elements. If the save fails, Swap returns the error and the
// handler answers the request (see [Manager.Handler]).
//
// With a store that keeps the session in the cookie, the client's cookie is the only
// copy: two requests can both take the value, and the last response wins.
func (m *Manager[T]) Swap(ctx context.Context, fn func(*T) error) (T, error) {
	var before, zero T
	s, err := m.begin(ctx)
	if err != nil {
		return zero, err
	}
	defer s.mu.Unlock()
	err = s.apply(func(v *T) error {
		before = *v
		return fn(v)
	})
	if err != nil {
		return zero, err
	}
	if err := s.commitNow(ctx); err != nil {
		return zero, err
	}
	return before, nil
}

// Commit saves the session's changes now instead of before the first byte of the
// response, and returns the error if the save fails (the store is down, a sealed cookie
// would be too large, another request ended the session): the handler can then answer
// with a response of its own (see [Manager.Handler]). Changes made after Commit are
// saved at the end of the request as usual. Commit does nothing for a request that
// has not used its session.
func (m *Manager[T]) Commit(ctx context.Context) error {
	s := m.session(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == unloaded && s.loadErr == nil {
		return nil
	}
	if err := s.load(ctx); err != nil {
		s.handed = true
		return err
	}
	return s.commitNow(ctx)
}

// Destroy ends the session: it is ended in the store at once and the client's cookie is
// expired. The rest of the request sees a new, empty session. A copy of the old token
// is useless afterwards, except with a store that cannot revoke tokens (the cookie
// store; see its documentation). Destroy discards the request's unsaved changes.
func (m *Manager[T]) Destroy(ctx context.Context) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	err = s.destroy(ctx)
	if err != nil && !errors.Is(err, ErrResponseStarted) && s.loadErr == nil {
		s.failLoad(err) // a logout that did not happen is never answered as one
	}
	return err
}

// Renew gives the session a new token and ends the old one, keeping the data: call it
// on login and on any change of privilege, so that a token planted or seen before
// cannot ride along. Renew keeps the session's creation time, so it does not extend
// the absolute Lifetime. It does nothing when there is no stored session.
func (m *Manager[T]) Renew(ctx context.Context) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.state != live {
		return nil
	}
	s.renew = true
	return s.late(ctx)
}

// RememberMe makes the session's cookie persistent (it carries Max-Age and outlives the
// browser session) or not, creating the session if there is none and on differs from
// Options.RememberMe.
func (m *Manager[T]) RememberMe(ctx context.Context, on bool) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.remember, s.setRemember = on, true
	return s.late(ctx)
}

// SetOwner records who the session belongs to (a user id), so that all the sessions of
// one owner can be listed and ended; "" clears it. A stored session whose owner changes
// is renewed when it is saved, as on login.
func (m *Manager[T]) SetOwner(ctx context.Context, owner string) error {
	s, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if owner == s.owner {
		return nil
	}
	s.owner, s.setOwner = owner, true
	if s.state == live {
		s.renew = true
	}
	return s.late(ctx)
}

// Info describes the request's session, for an account page: its owner, whether it is
// a remember-me session, when it began, was last active and ends. ok reports whether
// the request has a session: a stored one, or one its changes will create. The ID of
// a session not stored yet is empty.
func (m *Manager[T]) Info(ctx context.Context) (info SessionInfo, ok bool, err error) {
	s, err := m.begin(ctx)
	if err != nil {
		return SessionInfo{}, false, err
	}
	defer s.mu.Unlock()
	rec := s.rec
	switch {
	case s.state == live:
	case s.creates():
		now := m.now()
		rec = store.Record{Created: now, Active: now, Expiry: m.expiry(now, now)}
	default:
		return SessionInfo{}, false, nil
	}
	info = m.info(rec, true)
	info.Owner, info.RememberMe = s.owner, s.remember
	if s.state == live && s.token != "" {
		info.ID = store.ID(s.token)
	}
	return info, true, nil
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

// maxTokenLen bounds the token the Manager passes to its Store: a cookie cannot be longer.
const maxTokenLen = 4096

// now returns the current time to the millisecond, the precision of a Record.
func (m *Manager[T]) now() time.Time {
	return time.UnixMilli(m.opts.Now().UnixMilli())
}

// expiry returns the Expiry of a session created at created and active at active.
func (m *Manager[T]) expiry(created, active time.Time) time.Time {
	e := created.Add(m.opts.Lifetime)
	if m.opts.IdleTimeout > 0 {
		if idle := active.Add(m.opts.IdleTimeout); idle.Before(e) {
			e = idle
		}
	}
	return e
}

// live reports whether rec is a session that has not ended at now, by the Manager's own
// clock and current options, whatever the store's cleanup did and whatever options the
// session was written under.
func (m *Manager[T]) live(rec store.Record, now time.Time) bool {
	return rec.Ended == store.NotEnded && now.Before(rec.Expiry) && now.Before(m.expiry(rec.Created, lastActive(rec)))
}

// lastActive returns when rec was last active: its Active, or for a record written
// before Active existed, its Created.
func lastActive(rec store.Record) time.Time {
	if rec.Active.IsZero() {
		return rec.Created
	}
	return rec.Active
}

// zeroData returns the encoding of the zero T, or nil if it does not encode.
func (m *Manager[T]) zeroData() []byte {
	m.zeroOnce.Do(func() {
		var zero T
		m.zero, _ = m.opts.Codec.Marshal(&zero)
	})
	return m.zero
}
