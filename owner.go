package typedsession

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// SessionInfo describes one live session of an owner, as [Manager.Sessions] lists it.
type SessionInfo struct {
	// ID identifies the session without being its token: it cannot be used to act as
	// the session.
	ID string
	// Created is when the session began.
	Created time.Time
	// Expiry is when the session ends if it is not used again.
	Expiry time.Time
	// LastSeen is when the session was last used, to within Options.TouchInterval. It
	// is known only with an IdleTimeout, and is the zero time otherwise.
	LastSeen time.Time
	// Persistent reports a "remember me" session.
	Persistent bool
	// Current reports the session of the request that asked.
	Current bool
}

func (m *Manager[T]) ownerStore() (store.OwnerStore, error) {
	o, ok := m.store.(store.OwnerStore)
	if !ok {
		return nil, fmt.Errorf("typedsession: %T cannot find sessions by owner: %w", m.store, errors.ErrUnsupported)
	}
	return o, nil
}

// current returns the request's session in ctx, or nil when ctx has none.
func (m *Manager[T]) current(ctx context.Context) *session[T] {
	s, _ := ctx.Value(m).(*session[T])
	return s
}

// Sessions lists the live sessions of owner, newest first; see [Manager.SetOwner].
// ctx need not come from a request. With a store that cannot find sessions by owner
// (the cookie store), it yields an error that wraps errors.ErrUnsupported.
func (m *Manager[T]) Sessions(ctx context.Context, owner string) iter.Seq2[SessionInfo, error] {
	return func(yield func(SessionInfo, error) bool) {
		o, err := m.ownerStore()
		if err != nil {
			yield(SessionInfo{}, err)
			return
		}
		recs, err := o.Owned(ctx, owner)
		if err != nil {
			yield(SessionInfo{}, fmt.Errorf("typedsession: listing sessions: %w", err))
			return
		}
		var currentID string
		if s := m.current(ctx); s != nil {
			s.mu.Lock()
			err := s.load(ctx)
			if s.token != "" {
				currentID = store.ID(s.token)
			}
			s.mu.Unlock()
			if err != nil {
				yield(SessionInfo{}, err)
				return
			}
		}
		now := m.now()
		infos := make([]SessionInfo, 0, len(recs))
		for id, rec := range recs {
			if rec.Owner != owner || !m.live(rec, now) {
				continue
			}
			info := SessionInfo{
				ID:         id,
				Created:    rec.Created,
				Expiry:     rec.Expiry,
				Persistent: rec.Persist,
				Current:    id == currentID && currentID != "",
			}
			if m.opts.IdleTimeout > 0 {
				info.LastSeen = rec.Expiry.Add(-m.opts.IdleTimeout)
				if info.LastSeen.Before(rec.Created) {
					info.LastSeen = rec.Created
				}
			}
			infos = append(infos, info)
		}
		slices.SortFunc(infos, func(a, b SessionInfo) int { return b.Created.Compare(a.Created) })
		for _, info := range infos {
			if !yield(info, nil) {
				return
			}
		}
	}
}

// DestroyOwner ends every session of owner, in every instance of the application
// (when a password changes or an account is disabled), and returns how many it ended.
// Requests with those sessions' cookies then get a fresh, empty session. ctx need not
// come from a request; if it carries a session of owner, that one ends too.
func (m *Manager[T]) DestroyOwner(ctx context.Context, owner string) (int, error) {
	o, err := m.ownerStore()
	if err != nil {
		return 0, err
	}
	if owner == "" {
		return 0, errors.New("typedsession: DestroyOwner: empty owner")
	}
	n, err := o.DeleteOwned(ctx, owner, "")
	if err != nil {
		return n, fmt.Errorf("typedsession: destroying the sessions of an owner: %w", err)
	}
	if s := m.current(ctx); s != nil {
		s.mu.Lock()
		if s.loaded && s.rec.Owner == owner && s.found {
			s.clear()
		}
		s.mu.Unlock()
	}
	return n, nil
}

// DestroyOthers ends every session of the request's owner except the request's own
// ("log out all other sessions") and returns how many it ended. It does nothing for a
// session without an owner.
func (m *Manager[T]) DestroyOthers(ctx context.Context) (int, error) {
	s := m.session(ctx)
	s.mu.Lock()
	err := s.load(ctx)
	owner, token, found := s.rec.Owner, s.token, s.found
	s.mu.Unlock()
	if err != nil || owner == "" || !found {
		return 0, err
	}
	o, err := m.ownerStore()
	if err != nil {
		return 0, err
	}
	n, err := o.DeleteOwned(ctx, owner, token)
	if err != nil {
		return n, fmt.Errorf("typedsession: destroying the other sessions of an owner: %w", err)
	}
	return n, nil
}
