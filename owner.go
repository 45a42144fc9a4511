package typedsession

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// SessionInfo describes one session, as [Manager.Sessions] lists them and
// [Manager.Info] describes the request's own.
type SessionInfo struct {
	// ID identifies the session without being its token: it cannot be used to act as
	// the session. [Manager.DestroyID] ends a session by its ID. With a store that keeps
	// the session in its cookie, the ID changes with every write.
	ID string
	// Owner is the session's owner (see [Manager.SetOwner]), or "".
	Owner string
	// Created is when the session began.
	Created time.Time
	// LastSeen is when the session was last used, to within Options.TouchInterval.
	LastSeen time.Time
	// Expiry is when the session ends if it is not used again.
	Expiry time.Time
	// RememberMe reports a "remember me" session.
	RememberMe bool
	// Current reports the session of the request that asked.
	Current bool
}

// info describes rec.
func (m *Manager[T]) info(rec store.Record, current bool) SessionInfo {
	return SessionInfo{
		Owner:      rec.Owner,
		Created:    rec.Created,
		LastSeen:   lastActive(rec),
		Expiry:     rec.Expiry,
		RememberMe: rec.RememberMe,
		Current:    current,
	}
}

func (m *Manager[T]) ownerStore() (store.OwnerStore, error) {
	o, ok := m.store.(store.OwnerStore)
	if !ok {
		return nil, fmt.Errorf("typedsession: %T cannot find sessions by owner: %w", m.store, errors.ErrUnsupported)
	}
	return o, nil
}

// ownerCall runs one owner operation of the store with the deadline of
// Options.StoreTimeout.
func (m *Manager[T]) ownerCall(ctx context.Context, op string, f func(ctx context.Context, o store.OwnerStore) error) error {
	o, err := m.ownerStore()
	if err != nil {
		return err
	}
	var spent time.Duration
	return m.call(ctx, op, &spent, func(ctx context.Context) error { return f(ctx, o) })
}

// currentID returns the ID of the request's stored session in ctx, or "" when ctx has
// none.
func (m *Manager[T]) currentID(ctx context.Context) (string, error) {
	s := m.current(ctx)
	if s == nil {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil || s.state != live || s.token == "" {
		return "", err
	}
	return store.ID(s.token), nil
}

// Sessions lists the live sessions of owner, the request's own first (marked Current),
// then the others by last activity, most recent first; see [Manager.SetOwner]. ctx need
// not come from a request. With a store that cannot find sessions by owner (the cookie
// store), it yields an error that wraps errors.ErrUnsupported.
func (m *Manager[T]) Sessions(ctx context.Context, owner string) iter.Seq2[SessionInfo, error] {
	return func(yield func(SessionInfo, error) bool) {
		var recs map[string]store.Record
		err := m.ownerCall(ctx, "list sessions", func(ctx context.Context, o store.OwnerStore) (err error) {
			recs, err = o.Owned(ctx, owner)
			return err
		})
		if err != nil {
			yield(SessionInfo{}, err)
			return
		}
		current, err := m.currentID(ctx)
		if err != nil {
			yield(SessionInfo{}, err)
			return
		}
		now := m.now()
		infos := make([]SessionInfo, 0, len(recs))
		for id, rec := range recs {
			if rec.Owner != owner || !m.live(rec, now) {
				continue
			}
			info := m.info(rec, id == current)
			info.ID = id
			infos = append(infos, info)
		}
		slices.SortFunc(infos, func(a, b SessionInfo) int {
			switch {
			case a.Current != b.Current:
				if a.Current {
					return -1
				}
				return 1
			case !a.LastSeen.Equal(b.LastSeen):
				return b.LastSeen.Compare(a.LastSeen)
			}
			return b.Created.Compare(a.Created)
		})
		for _, info := range infos {
			if !yield(info, nil) {
				return
			}
		}
	}
}

// DestroyOwner ends every session of owner, in every instance of the application
// (when a password changes or an account is disabled), and returns how many it ended.
// Requests with those sessions' cookies then get a fresh, empty session; a request
// that held one of them while it was ended fails with [ErrSessionEnded]. ctx need not
// come from a request; if it carries a session of owner, that one ends too.
func (m *Manager[T]) DestroyOwner(ctx context.Context, owner string) (int, error) {
	if owner == "" {
		return 0, errors.New("typedsession: DestroyOwner: empty owner")
	}
	var ids []string
	err := m.ownerCall(ctx, "destroy the sessions of an owner", func(ctx context.Context, o store.OwnerStore) (err error) {
		ids, err = o.DeleteOwned(ctx, owner, "")
		return err
	})
	m.revoked(ctx, owner, ids, "DestroyOwner")
	if err != nil {
		return len(ids), err
	}
	if s := m.current(ctx); s != nil {
		s.mu.Lock()
		if s.state == live && s.rec.Owner == owner {
			s.clear()
		}
		s.mu.Unlock()
	}
	return len(ids), nil
}

// DestroyOthers ends every session of the request's owner except the request's own
// ("log out all other sessions") and returns how many it ended. It does nothing for a
// session without an owner.
func (m *Manager[T]) DestroyOthers(ctx context.Context) (int, error) {
	s, err := m.begin(ctx)
	if err != nil {
		return 0, err
	}
	owner, token := s.rec.Owner, s.token
	if s.state != live {
		owner = ""
	}
	s.mu.Unlock()
	if owner == "" {
		return 0, nil
	}
	var ids []string
	err = m.ownerCall(ctx, "destroy the other sessions of an owner", func(ctx context.Context, o store.OwnerStore) (err error) {
		ids, err = o.DeleteOwned(ctx, owner, token)
		return err
	})
	m.revoked(ctx, owner, ids, "DestroyOthers")
	return len(ids), err
}

// DestroyID ends the session of owner whose [SessionInfo.ID] is id ("sign out this
// device" on a list from [Manager.Sessions]) and reports whether there was one. A
// session of another owner is never ended, so pass the owner of the signed-in user, not
// one taken from the request. ctx need not come from a request; if id is the request's
// own session, the request continues with a fresh, empty one.
func (m *Manager[T]) DestroyID(ctx context.Context, owner, id string) (bool, error) {
	var ended bool
	err := m.ownerCall(ctx, "destroy a session", func(ctx context.Context, o store.OwnerStore) (err error) {
		ended, err = o.DeleteID(ctx, owner, id)
		return err
	})
	if err != nil || !ended {
		return false, err
	}
	m.revoked(ctx, owner, []string{id}, "DestroyID")
	if s := m.current(ctx); s != nil {
		s.mu.Lock()
		if s.state == live && s.token != "" && store.ID(s.token) == id {
			s.clear()
		}
		s.mu.Unlock()
	}
	return true, nil
}

// revoked reports the sessions of owner that a call ended.
func (m *Manager[T]) revoked(ctx context.Context, owner string, ids []string, by string) {
	for _, id := range ids {
		m.emit(ctx, Event{Kind: SessionRevoked, ID: id, Owner: owner, Reason: by})
	}
}

// ownedLive lists the live sessions of owner, by ID. Called with s.mu held.
func (s *session[T]) ownedLive(ctx context.Context, owner string) (map[string]store.Record, error) {
	m := s.m
	o := m.store.(store.OwnerStore) // New checked it
	var recs map[string]store.Record
	err := s.call(ctx, "list sessions", func(ctx context.Context) (err error) {
		recs, err = o.Owned(ctx, owner)
		return err
	})
	now := m.now()
	for id, rec := range recs {
		if rec.Owner != owner || !m.live(rec, now) {
			delete(recs, id)
		}
	}
	return recs, err
}

// admit refuses a login of s.owner that Options.MaxOwnerSessions with RefuseOverLimit
// does not allow, before anything is written. Called with s.mu held.
func (s *session[T]) admit(ctx context.Context) error {
	m := s.m
	if !m.opts.RefuseOverLimit || s.owner == "" {
		return nil
	}
	recs, err := s.ownedLive(ctx, s.owner)
	if err != nil {
		return err
	}
	if len(recs) >= m.opts.MaxOwnerSessions {
		return fmt.Errorf("%w: %d live sessions, at most %d", ErrTooManySessions, len(recs), m.opts.MaxOwnerSessions)
	}
	return nil
}

// limit enforces Options.MaxOwnerSessions once the request's session is stored with its
// owner. Every login lists the owner's sessions after its own is stored, and ends
// those beyond the first MaxOwnerSessions in one order that all agree on: by last
// activity, most recent first (or with RefuseOverLimit, by creation, oldest first),
// then by ID. The login whose session is stored last sees every session, so the
// sessions left are exactly the first MaxOwnerSessions of that order, whatever the
// interleaving. A login whose own session is among those ended fails with
// ErrTooManySessions. Called with s.mu held.
func (s *session[T]) limit(ctx context.Context) error {
	m := s.m
	owner := s.rec.Owner
	if m.opts.MaxOwnerSessions == 0 || owner == "" {
		return nil
	}
	recs, err := s.ownedLive(ctx, owner)
	if err != nil || len(recs) <= m.opts.MaxOwnerSessions {
		return err
	}
	ids := make([]string, 0, len(recs))
	for id := range recs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		ra, rb := recs[a], recs[b]
		var c int
		if m.opts.RefuseOverLimit {
			c = ra.Created.Compare(rb.Created)
		} else if c = lastActive(rb).Compare(lastActive(ra)); c == 0 {
			c = rb.Created.Compare(ra.Created)
		}
		if c == 0 {
			c = strings.Compare(a, b)
		}
		return c
	})
	own := store.ID(s.token)
	o := m.store.(store.OwnerStore)
	ownEnded := false
	for _, id := range ids[m.opts.MaxOwnerSessions:] {
		var ended bool
		err := s.call(ctx, "end a session over the owner limit", func(ctx context.Context) (err error) {
			ended, err = o.DeleteID(ctx, owner, id)
			return err
		})
		if err != nil {
			return err
		}
		if !ended {
			continue
		}
		if id == own {
			ownEnded = true
			continue
		}
		m.emit(ctx, Event{Kind: SessionRevoked, ID: id, Owner: owner, Reason: "owner limit"})
	}
	if ownEnded {
		m.emit(ctx, Event{Kind: SessionRevoked, ID: own, Owner: owner, Reason: "owner limit"})
		s.state = ended
		return s.failLoad(fmt.Errorf("%w: a concurrent login of the same owner took the last place", ErrTooManySessions))
	}
	return nil
}
