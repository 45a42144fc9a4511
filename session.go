package typedsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// retiredGrace is how long the marker left under a renewed or destroyed session's
// token lives: long enough for the requests the client had in flight with the old
// token to arrive and be recognised, short enough to cost nothing.
const retiredGrace = time.Minute

// state is where a request's session stands.
type state uint8

const (
	unloaded state = iota // the client's token has not been looked up yet
	none                  // no stored session: none sent, unknown, expired, or destroyed by this request
	live                  // a stored session, under token, as read or last written (rec)
	ended                 // another request ended the client's session: nothing is written, and every call fails
)

// session is the per-request state of one Manager: what the client sent, what was
// loaded, and what the request changed. It is also the ResponseWriter the handler sees,
// so that the session is committed before the first byte of the response, and the
// request's context, which answers Value(m) with the session itself: one allocation
// where a context.WithValue would make a second, on every request.
type session[T any] struct {
	http.ResponseWriter // nil for a session made by WithSession
	context.Context     // the request's context before the middleware
	m                   *Manager[T]
	r                   *http.Request // &req, or nil for a session made by WithSession
	req                 http.Request  // the request the handler sees, with this session as its context
	seeded              bool          // made by WithSession: nothing is ever stored

	mu     sync.Mutex
	state  state
	client string       // the token the client sent, or ""
	token  string       // the token of the stored session (state live)
	rec    store.Record // the stored session as read or last written (state live)
	val    T

	// What the session is to become. owner and remember start as stored; the set flags
	// say the request chose them, so that a reload after a conflict keeps the choice.
	owner       string
	remember    bool
	setOwner    bool
	setRemember bool

	fns     []func(*T) error // Update functions since the last save, re-applied on conflict
	put     bool             // Put since the last save: on conflict, the value wins as it is
	changed bool             // Put or Update since the last save: the value may differ from rec.Data
	renew   bool             // a new token must replace the stored one

	refreshed bool          // written or touched: a remember-me cookie's Max-Age moves
	spent     time.Duration // time spent on store calls, against Options.StoreTimeout

	loadErr error // the session could not be read or ended, or another request ended it: sticky
	saveErr error // the last save failed; a later save that succeeds clears it
	handed  bool  // the failure was returned by Commit or Swap: the handler answers

	started bool // the response has started; commit has run
	failed  bool // commit failed and the ErrorHandler wrote the response
}

// Value returns the session for its Manager's key, and asks the parent context for
// any other key.
func (s *session[T]) Value(key any) any {
	if key == any(s.m) {
		return s
	}
	return s.Context.Value(key)
}

// failure returns the session failure the middleware reports, or nil.
func (s *session[T]) failure() error {
	if s.loadErr != nil {
		return s.loadErr
	}
	return s.saveErr
}

// call runs one store operation within what remains of the request's store budget
// (Options.StoreTimeout), and wraps a failure as ErrUnavailable.
func (s *session[T]) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if s.m.store == nil {
		panic("typedsession: a Manager from NewTesting serves only contexts seeded with WithSession")
	}
	return s.m.call(ctx, op, &s.spent, f)
}

// call runs f with a deadline: what remains of the budget Options.StoreTimeout once
// *spent has been used, and adds the time f took to *spent. A failure of f is an
// ErrUnavailable that wraps it. A store that does no I/O (store.Immediate) is called
// without a deadline, and without reading the clock unless an event reports how long
// the call took: its calls never have a deadline, so the budget they spend is never
// looked at.
func (m *Manager[T]) call(ctx context.Context, op string, spent *time.Duration, f func(ctx context.Context) error) error {
	if m.immediate && !m.emitting() {
		return storeErr(op, f(ctx))
	}
	limit := m.opts.StoreTimeout
	start := time.Now()
	var err error
	switch left := limit - *spent; {
	case limit < 0 || m.immediate:
		err = f(ctx)
	case left <= 0:
		err = fmt.Errorf("the request's store budget (Options.StoreTimeout %v) is spent: %w", limit, context.DeadlineExceeded)
	default:
		cctx, cancel := context.WithTimeout(ctx, left)
		err = f(cctx)
		cancel()
	}
	took := time.Since(start)
	*spent += took
	err = storeErr(op, err)
	if m.emitting() {
		var failure error
		if errors.Is(err, ErrUnavailable) {
			failure = err
		}
		m.emit(ctx, Event{Kind: StoreCalled, Reason: op, Duration: took, Err: failure})
	}
	return err
}

// storeErr returns the failure of the store call op, err, as the Manager reports it:
// an ErrUnavailable that wraps err, but for a conflict, an unsupported call and a value
// too large, which the Manager handles as they are.
func storeErr(op string, err error) error {
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, store.ErrTooLarge) {
		return &storeError{op: op, err: err}
	}
	return err
}

// load looks up the client's session once. Called with s.mu held.
func (s *session[T]) load(ctx context.Context) error {
	if s.loadErr != nil {
		return s.loadErr
	}
	if s.state != unloaded {
		return nil
	}
	m := s.m
	s.state, s.remember = none, m.opts.RememberMe
	s.client = m.token(s.r)
	if s.client == "" {
		return nil
	}
	var rec store.Record
	var found bool
	err := s.call(ctx, "load", func(ctx context.Context) (err error) {
		rec, found, err = m.store.Load(ctx, s.client)
		return err
	})
	switch {
	case err != nil:
		return s.failLoad(err)
	case !found:
		return nil
	case rec.Ended != store.NotEnded:
		// A request the client sent before it got the token that replaced this one.
		s.state = ended
		return s.failLoad(&endedError{reason: "its token was " + rec.Ended.String() + " moments ago"})
	case !m.live(rec, m.now()):
		if m.emitting() {
			m.emit(ctx, Event{Kind: SessionExpired, ID: store.ID(s.client), Owner: rec.Owner})
		}
		return nil
	}
	if err := m.decode(ctx, rec.Data, &s.val); err != nil {
		return s.failLoad(err)
	}
	s.state, s.token, s.rec = live, s.client, rec
	s.owner, s.remember = rec.Owner, rec.RememberMe
	return nil
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

// apply runs fn on a copy of the value and keeps the result, for re-application after
// a conflict unless a Put since the last save makes the value win whole. Called with
// s.mu held.
func (s *session[T]) apply(fn func(*T) error) error {
	v := s.val
	if err := fn(&v); err != nil {
		return err
	}
	s.val, s.changed = v, true
	if !s.put {
		s.fns = append(s.fns, fn)
	}
	return nil
}

// failLoad records err as a failure to read the session, which the request cannot
// recover from, and returns it.
func (s *session[T]) failLoad(err error) error {
	s.loadErr = err
	return err
}

// late saves a change made after the response started, where it can reach the client
// without a new cookie, and reports it where it cannot. Called with s.mu held.
func (s *session[T]) late(ctx context.Context) error {
	if !s.started {
		return nil
	}
	err := s.save(ctx, true)
	if err != nil {
		s.m.opts.Logger.ErrorContext(ctx, "typedsession: session change after the response started", "err", err)
	}
	return err
}

// commitNow saves the session for Commit and Swap, and hands a failure to the handler.
// Called with s.mu held.
func (s *session[T]) commitNow(ctx context.Context) error {
	err := s.save(ctx, s.started)
	if err != nil {
		s.handed = true
	}
	return err
}

// save writes what the request changed: it creates, renews or updates the session (or
// touches it when nothing changed), re-applying the request's Update functions after a
// conflict. With late set (the response has started), a change that needs a new token
// on the client is not made, and save returns ErrResponseStarted. A failure is also
// kept for the middleware to report. Called with s.mu held.
func (s *session[T]) save(ctx context.Context, late bool) error {
	var err error
	switch {
	case s.seeded:
		s.settle()
		return nil
	case s.state == none:
		err = s.create(ctx, late)
	case s.state == live:
		err = s.update(ctx, late)
	default: // unloaded: nothing to save; ended: loadErr says why
		return s.loadErr
	}
	if err != nil && !errors.Is(err, ErrResponseStarted) {
		if s.loadErr == nil {
			s.saveErr = err
		}
		return err
	}
	s.saveErr = nil
	return err
}

// creates reports whether a session without a stored one has changes that make one: a
// value that does not encode as the zero T, an owner, or a RememberMe other than the
// default. Called with s.mu held.
func (s *session[T]) creates() bool {
	ok, _, _ := s.creation()
	return ok
}

// creation reports what creates reports, and returns the value's encoding (or the
// failure to encode it) when it took one to decide, so that create encodes the value
// once. Called with s.mu held.
func (s *session[T]) creation() (ok bool, data []byte, err error) {
	if s.state != none {
		return false, nil, nil
	}
	if s.owner != "" || s.remember != s.m.opts.RememberMe {
		return true, nil, nil
	}
	if !s.changed {
		return false, nil, nil
	}
	data, err = s.m.opts.Codec.Marshal(&s.val)
	return err != nil || s.m.zeroData() == nil || !bytes.Equal(data, s.m.zeroData()), data, err
}

// create stores a new session if the request made one. Called with s.mu held.
func (s *session[T]) create(ctx context.Context, late bool) error {
	m := s.m
	ok, data, err := s.creation()
	if !ok {
		s.settle()
		return nil
	}
	if late {
		return ErrResponseStarted
	}
	if data == nil && err == nil {
		data, err = m.opts.Codec.Marshal(&s.val)
	}
	if err != nil {
		return fmt.Errorf("typedsession: encode: %w", err)
	}
	if err := s.admit(ctx); err != nil {
		return err
	}
	now := m.now()
	rec := store.Record{
		Data:       data,
		Created:    now,
		Active:     now,
		Expiry:     m.expiry(now, now),
		Version:    1,
		Owner:      s.owner,
		RememberMe: s.remember,
	}
	var token string
	err = s.call(ctx, "create", func(ctx context.Context) (err error) {
		token, err = m.store.Save(ctx, "", 0, rec)
		return err
	})
	if err != nil {
		return err
	}
	s.state, s.token, s.rec, s.refreshed = live, token, rec, true
	s.settle()
	if m.emitting() {
		id := store.ID(token)
		m.emit(ctx, Event{Kind: SessionCreated, ID: id, Owner: rec.Owner})
		if rec.Owner != "" {
			m.emit(ctx, Event{Kind: SessionOwned, ID: id, Owner: rec.Owner})
		}
	}
	return s.limit(ctx)
}

// update writes the changes to the stored session, or touches it when there are none.
// On a conflict it reloads the session, re-applies the request's changes and tries
// again, up to Options.MaxRetries times. Called with s.mu held.
func (s *session[T]) update(ctx context.Context, late bool) error {
	m := s.m
	for attempt := 0; ; attempt++ {
		data := s.rec.Data
		if s.changed {
			var err error
			if data, err = m.opts.Codec.Marshal(&s.val); err != nil {
				return fmt.Errorf("typedsession: encode: %w", err)
			}
		}
		metaChanged := s.owner != s.rec.Owner || s.remember != s.rec.RememberMe
		if !s.renew && !metaChanged && !s.put && bytes.Equal(data, s.rec.Data) {
			s.settle()
			if late {
				return nil
			}
			return s.touch(ctx)
		}
		var err error
		if s.renew {
			err = s.replace(ctx, data, late)
		} else {
			err = s.write(ctx, data, late)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if attempt >= m.opts.MaxRetries {
			return fmt.Errorf("typedsession: save: %d attempts: %w", attempt+1, err)
		}
		m.emit(ctx, Event{Kind: ConflictRetried, Owner: s.rec.Owner})
		// Wait first, then reload and save at once: a wait between the read and the
		// write would only widen the window for the next conflict.
		if err := s.backoff(ctx, attempt); err != nil {
			return err
		}
		if err := s.reload(ctx); err != nil {
			return err
		}
	}
}

// next returns the stored session with the request's changes and data, written now.
func (s *session[T]) next(data []byte, now time.Time) store.Record {
	rec := s.rec
	rec.Data, rec.Owner, rec.RememberMe = data, s.owner, s.remember
	rec.Active, rec.Expiry = now, s.m.expiry(rec.Created, now)
	rec.Version = s.rec.Version + 1
	return rec
}

// write updates the stored session in place, if it is still at the version that was
// read. Called with s.mu held.
func (s *session[T]) write(ctx context.Context, data []byte, late bool) error {
	m := s.m
	rec := s.next(data, m.now())
	var token string
	err := s.call(ctx, "save", func(ctx context.Context) (err error) {
		token, err = m.store.Save(ctx, s.token, s.rec.Version, rec)
		return err
	})
	if err != nil {
		return err
	}
	if late && token != s.token {
		// The store keeps the session in the token (a sealed cookie): the new one
		// cannot reach the client.
		return ErrResponseStarted
	}
	s.token, s.rec, s.refreshed = token, rec, true
	s.settle()
	return nil
}

// replace moves the session to a new token: it ends the stored session with a
// compare-and-swap on the version that was read, leaving a marker, and only then
// creates the session anew, so that a session another request changed, renewed or
// destroyed meanwhile is never copied. Called with s.mu held.
func (s *session[T]) replace(ctx context.Context, data []byte, late bool) error {
	m := s.m
	if late {
		return ErrResponseStarted
	}
	owned := s.owner != s.rec.Owner && s.owner != ""
	if owned {
		if err := s.admit(ctx); err != nil {
			return err
		}
	}
	retired := true
	if err := s.retire(ctx, store.Renewed); errors.Is(err, errors.ErrUnsupported) {
		retired = false // the store keeps the session in the token: nothing to end
	} else if err != nil {
		return err
	}
	previous := s.token
	now := m.now()
	rec := s.next(data, now)
	rec.Version = 1
	var token string
	err := s.call(ctx, "renew", func(ctx context.Context) (err error) {
		token, err = m.store.Save(ctx, "", 0, rec)
		return err
	})
	if err != nil && !retired {
		return err // the session is as it was
	}
	if err != nil {
		// The old token is ended and the new session is not stored: the session is
		// lost. Nothing will set or clear the client's cookie.
		s.state = ended
		return s.failLoad(fmt.Errorf("typedsession: renew: the old token was ended but the new session could not be stored: %w", err))
	}
	s.token, s.rec, s.refreshed = token, rec, true
	s.settle()
	if m.emitting() {
		e := Event{Kind: SessionRenewed, ID: store.ID(token), PreviousID: store.ID(previous), Owner: rec.Owner}
		m.emit(ctx, e)
		if owned {
			e.Kind = SessionOwned
			m.emit(ctx, e)
		}
	}
	if owned {
		return s.limit(ctx)
	}
	return nil
}

// retire ends the stored session, if it is still at the version that was read, with
// a data-less marker that records why. A store that cannot end sessions (the cookie
// store) returns an error that wraps errors.ErrUnsupported. Called with s.mu held.
func (s *session[T]) retire(ctx context.Context, why store.EndReason) error {
	m := s.m
	marker := store.Record{
		Expiry:  m.now().Add(retiredGrace),
		Version: s.rec.Version + 1,
		Owner:   s.rec.Owner,
		Ended:   why,
	}
	return s.call(ctx, "end", func(ctx context.Context) error {
		_, err := m.store.Save(ctx, s.token, s.rec.Version, marker)
		return err
	})
}

// destroy ends the stored session with a Destroyed marker (retrying after a conflict
// with a change) and clears the request's session. Called with s.mu held.
func (s *session[T]) destroy(ctx context.Context) error {
	revoked := true
	for attempt := 0; s.state == live && !s.seeded; attempt++ {
		err := s.retire(ctx, store.Destroyed)
		if err == nil {
			if s.m.emitting() {
				s.m.emit(ctx, Event{Kind: SessionDestroyed, ID: store.ID(s.token), Owner: s.rec.Owner})
			}
			break
		}
		if errors.Is(err, errors.ErrUnsupported) {
			revoked = false // the client's cookie is the only copy: it must be expired
			s.m.emit(ctx, Event{Kind: SessionDestroyed, ID: store.ID(s.token), Owner: s.rec.Owner})
			break
		}
		if !errors.Is(err, ErrConflict) || attempt >= s.m.opts.MaxRetries {
			return err
		}
		if err := s.backoff(ctx, attempt); err != nil {
			return err
		}
		if err := s.reload(ctx); err != nil {
			return err
		}
	}
	s.clear()
	if s.started && !revoked {
		return fmt.Errorf("%w (Destroy on a store that cannot revoke tokens)", ErrResponseStarted)
	}
	return nil
}

// reload reads the session again after a conflict and re-applies the request's changes
// to it. A session that is gone, expired or a marker meanwhile was ended by another
// request: this request is its loser. Called with s.mu held.
func (s *session[T]) reload(ctx context.Context) error {
	m := s.m
	var rec store.Record
	var found bool
	err := s.call(ctx, "reload", func(ctx context.Context) (err error) {
		rec, found, err = m.store.Load(ctx, s.token)
		return err
	})
	if err != nil {
		return err
	}
	if !found || !m.live(rec, m.now()) {
		why := "it is gone"
		if found && rec.Ended != store.NotEnded {
			why = "it was " + rec.Ended.String()
		}
		s.state = ended
		return s.failLoad(&endedError{reason: why + " while this request changed it"})
	}
	if !s.put {
		var zero T
		s.val = zero
		if err := m.decode(ctx, rec.Data, &s.val); err != nil {
			return err
		}
		for _, fn := range s.fns {
			if err := fn(&s.val); err != nil {
				return fmt.Errorf("typedsession: re-applying Update after a conflict: %w", err)
			}
		}
	}
	if !s.setOwner {
		s.owner = rec.Owner
	}
	if !s.setRemember {
		s.remember = rec.RememberMe
	}
	s.rec = rec
	return nil
}

// settle marks the request's changes as saved (or as nothing to save). Called with
// s.mu held.
func (s *session[T]) settle() {
	s.fns, s.put, s.changed, s.renew = nil, false, false, false
}

// clear makes the request's session a new, empty one; the client's token is cleared at
// commit (see writeToken). Called with s.mu held.
func (s *session[T]) clear() {
	var zero T
	s.state, s.token, s.val, s.rec = none, "", zero, store.Record{}
	s.owner, s.remember, s.setOwner, s.setRemember = "", s.m.opts.RememberMe, false, false
	s.fns, s.put, s.changed, s.renew = nil, false, false, false
}

// backoff waits a random time that grows with attempt, so that requests racing on one
// session spread out. The wait counts against the request's store budget.
func (s *session[T]) backoff(ctx context.Context, attempt int) error {
	d := rand.N(time.Millisecond << min(attempt, 8)) // up to 256ms
	return s.call(ctx, "back off after a conflict", func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// touch writes back the last activity (and with an IdleTimeout, the idle deadline) of
// an unchanged session, at most once per TouchInterval. Called with s.mu held.
func (s *session[T]) touch(ctx context.Context) error {
	m := s.m
	now := m.now()
	if s.state != live || now.Sub(lastActive(s.rec)) < m.opts.TouchInterval {
		return nil
	}
	rec := s.rec
	rec.Active, rec.Expiry = now, m.expiry(rec.Created, now)
	var token string
	err := s.call(ctx, "touch", func(ctx context.Context) (err error) {
		token, err = m.store.Touch(ctx, s.token, rec)
		return err
	})
	if err != nil {
		return err
	}
	s.token, s.rec, s.refreshed = token, rec, true
	return nil
}
