package typedsession

import (
	"context"
	"errors"
	"fmt"
)

// OwnerKV is implemented by a [KV] that can find records by their Owner, which is what
// "log out everywhere" needs. It is optional: a KV without it serves sessions as usual,
// and the owner operations of a Manager over it return errors.ErrUnsupported.
//
// The Manager never changes the Owner of a stored record: a session whose owner changes
// is renewed (a new key is created and the old one deleted), so a KV maintains its index
// in Create and Delete only, and a record without an Owner costs nothing extra. Expired
// records are never returned, and stale index entries are cleaned, never returned.
type OwnerKV interface {
	KV

	// Owned returns the live records whose Owner is owner, by key. The Data of the
	// returned records may be nil.
	Owned(ctx context.Context, owner string) (map[string]Record, error)

	// DeleteOwned deletes every record whose Owner is owner, except the one at key except
	// (when except is not ""), and returns how many it deleted. A record created
	// concurrently may survive; one deleted is never brought back by a late Update.
	DeleteOwned(ctx context.Context, owner, except string) (int, error)
}

// OwnerStore is implemented by a [Store] that can find and end the sessions of one
// owner. A [Server] implements it when its KV implements [OwnerKV].
type OwnerStore interface {
	// Owned returns the live sessions of owner, by an identifier that is not a token:
	// it cannot be used to act as the session.
	Owned(ctx context.Context, owner string) (map[string]Record, error)
	// DeleteOwned ends every session of owner except the one held by the token except
	// (when except is not ""), and returns how many it ended.
	DeleteOwned(ctx context.Context, owner, except string) (int, error)
}

var _ OwnerStore = Server{}

func (s Server) ownerKV() (OwnerKV, error) {
	o, ok := s.KV.(OwnerKV)
	if !ok {
		return nil, fmt.Errorf("typedsession: %T cannot find sessions by owner: %w", s.KV, errors.ErrUnsupported)
	}
	return o, nil
}

// Owned implements [OwnerStore]. The identifiers are the KV keys.
func (s Server) Owned(ctx context.Context, owner string) (map[string]Record, error) {
	o, err := s.ownerKV()
	if err != nil {
		return nil, err
	}
	return o.Owned(ctx, owner)
}

// DeleteOwned implements [OwnerStore].
func (s Server) DeleteOwned(ctx context.Context, owner, except string) (int, error) {
	o, err := s.ownerKV()
	if err != nil {
		return 0, err
	}
	exceptKey := ""
	if except != "" {
		k, ok := Key(except)
		if !ok {
			return 0, fmt.Errorf("typedsession: DeleteOwned: malformed token")
		}
		exceptKey = k
	}
	return o.DeleteOwned(ctx, owner, exceptKey)
}
