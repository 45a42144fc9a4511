package typedsession

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// session is the per-request state of one Manager: what the client sent, what was
// loaded, and what the request changed. It is also the ResponseWriter the handler sees,
// so that the session is committed before the first byte of the response, and the
// request's context, which answers Value(m) with the session itself (one allocation
// instead of two: a context.WithValue would be another).
type session[T any] struct {
	http.ResponseWriter // nil for a session made by WithSession
	context.Context     // the request's context before the middleware
	m                   *Manager[T]
	r                   *http.Request

	mu        sync.Mutex
	loaded    bool         // the client's token was looked up (or there is none)
	client    string       // the token the client sent, if any
	token     string       // the token of the stored session; "" for none
	rec       store.Record // the stored session, as loaded or last saved
	owner     string       // the owner the session is to have (rec.Owner is the stored one)
	found     bool         // a stored session exists under token
	val       T
	fns       []func(*T) error // Update functions since load or Put, re-applied on conflict
	replaced  bool             // Put since load: on conflict, the value wins as it is
	dirty     bool             // the value or its metadata must be saved
	renew     bool             // a new token must replace the current one
	destroyed bool             // the client's token must be cleared
	refreshed bool             // saved or touched: a persistent cookie's Max-Age moves
	err       error            // a failure the middleware reports through the ErrorHandler

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

// load looks up the client's session once. Called with s.mu held.
func (s *session[T]) load(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	if s.loaded {
		return nil
	}
	m := s.m
	s.client = m.token(s.r)
	s.rec = store.Record{Persist: m.opts.Persistent}
	if s.client != "" {
		rec, found, err := m.store.Load(ctx, s.client)
		if err != nil {
			return s.fail(fmt.Errorf("typedsession: load: %w", err))
		}
		if found && m.live(rec, m.now()) {
			if err := m.decode(ctx, rec.Data, &s.val); err != nil {
				return s.fail(err)
			}
			s.token, s.rec, s.found, s.owner = s.client, rec, true, rec.Owner
		}
	}
	s.loaded = true
	return nil
}

// fail records err as the request's session failure, reported by the middleware, and
// returns it.
func (s *session[T]) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

// lateError logs err, a change that could not reach the client, and returns it.
func (s *session[T]) lateError(err error) error {
	s.m.opts.Logger.Error("typedsession: session change after the response started", "err", err)
	return err
}

// late saves a change made after the response started, where it can reach the client
// without a new cookie, and reports it where it cannot. Called with s.mu held.
func (s *session[T]) late(ctx context.Context) error {
	if !s.started {
		return nil
	}
	return s.save(ctx, true)
}

// save writes a changed session: creates it, renews it, or updates it with the
// version it was read at, re-applying the request's Update functions after a conflict.
// With late set (the response has started), a change that needs a new token on the
// client is not made, and is reported. Called with s.mu held.
func (s *session[T]) save(ctx context.Context, late bool) error {
	m := s.m
	if !s.dirty && !s.renew {
		return nil
	}
	if late && (!s.found || s.renew) {
		return s.lateError(ErrResponseStarted)
	}
	now := m.now()
	for attempt := 0; ; attempt++ {
		data, err := m.opts.Codec.Marshal(&s.val)
		if err != nil {
			return s.fail(fmt.Errorf("typedsession: encode: %w", err))
		}
		rec := s.rec
		rec.Data = data
		var token string
		if s.found {
			// Update the stored session, only if it is still the one this request read.
			// A renewal ends it that way (its expiry set to now), so that a session
			// destroyed or changed meanwhile is not copied to a new token.
			rec.Version = s.rec.Version + 1
			if rec.Expiry = m.expiry(rec.Created, now); s.renew {
				rec.Expiry = now
			}
			token, err = m.store.Save(ctx, s.token, s.rec.Version, rec)
			if errors.Is(err, ErrConflict) && attempt < m.opts.MaxRetries {
				// Wait first, then reload and save at once: a wait between the read and
				// the write would only widen the window for the next conflict.
				if err := backoff(ctx, attempt); err != nil {
					return s.fail(fmt.Errorf("typedsession: save: %w", err))
				}
				if err := s.reload(ctx); err != nil {
					return err
				}
				if !s.found {
					// Destroyed by another request: logout sticks, this change is dropped.
					m.opts.Logger.InfoContext(ctx, "typedsession: session ended by another request; change dropped")
					s.clear()
					return nil
				}
				continue
			}
		}
		if err == nil && (!s.found || s.renew) {
			// A new session, or the renewed one under a new token.
			if !s.found {
				rec.Created = now
			}
			rec.Owner, rec.Version, rec.Expiry = s.owner, 1, m.expiry(rec.Created, now)
			token, err = m.store.Save(ctx, "", 0, rec)
		}
		if err != nil {
			return s.fail(fmt.Errorf("typedsession: save: %w", err))
		}
		if late && token != s.token {
			return s.lateError(ErrResponseStarted)
		}
		s.token, s.rec, s.found = token, rec, true
		s.dirty, s.renew, s.fns, s.replaced, s.refreshed = false, false, nil, false, true
		return nil
	}
}

// reload reads the session again after a conflict and re-applies the request's changes
// to it. Called with s.mu held.
func (s *session[T]) reload(ctx context.Context) error {
	m := s.m
	rec, found, err := m.store.Load(ctx, s.token)
	if err != nil {
		return s.fail(fmt.Errorf("typedsession: reload after conflict: %w", err))
	}
	if !found || !m.live(rec, m.now()) {
		s.found = false
		return nil
	}
	if !s.replaced {
		var zero T
		s.val = zero
		if err := m.decode(ctx, rec.Data, &s.val); err != nil {
			return s.fail(err)
		}
		for _, fn := range s.fns {
			if err := fn(&s.val); err != nil {
				return s.fail(fmt.Errorf("typedsession: re-applying Update after a conflict: %w", err))
			}
		}
	}
	rec.Persist = s.rec.Persist // this request's RememberMe wins
	s.rec = rec
	return nil
}

// clear makes the request's session a new, empty one whose client token is to be
// cleared. Called with s.mu held.
func (s *session[T]) clear() {
	var zero T
	s.token, s.found, s.val, s.fns, s.replaced, s.dirty, s.renew = "", false, zero, nil, false, false, false
	s.rec, s.owner = store.Record{Persist: s.m.opts.Persistent}, ""
	s.destroyed = true
}

// backoff waits a random time that grows with attempt, so that requests racing on one
// session spread out.
func backoff(ctx context.Context, attempt int) error {
	d := rand.N(time.Millisecond << min(attempt, 8)) // up to 256ms
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// touch extends the idle deadline of an unchanged session, at most once per
// TouchInterval. Called with s.mu held.
func (s *session[T]) touch(ctx context.Context) error {
	m := s.m
	if !s.found || m.opts.IdleTimeout == 0 {
		return nil
	}
	exp := m.expiry(s.rec.Created, m.now())
	if exp.Sub(s.rec.Expiry) < m.opts.TouchInterval {
		return nil
	}
	rec := s.rec
	rec.Expiry = exp
	token, err := m.store.Touch(ctx, s.token, rec)
	if err != nil {
		return s.fail(fmt.Errorf("typedsession: touch: %w", err))
	}
	s.token, s.rec, s.refreshed = token, rec, true
	return nil
}
