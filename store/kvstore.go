package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// KVStore turns a [KV] into a [Store]. It mints tokens (256 bits from crypto/rand,
// base64url), rejects malformed tokens without touching the KV, and keys records by the
// SHA-256 of the token, so a leaked keyspace or table yields no usable session. When its
// KV implements [OwnerKV], a KVStore is an [OwnerStore].
//
// Server-side stores embed a KVStore: memstore.New(...) is a Store because its KVStore
// is.
type KVStore struct {
	KV KV
}

var (
	_ Store      = KVStore{}
	_ OwnerStore = KVStore{}
)

// Load implements [Store].
func (s KVStore) Load(ctx context.Context, token string) (Record, bool, error) {
	k, ok := key(token)
	if !ok {
		return Record{}, false, nil
	}
	return s.KV.Get(ctx, k)
}

// Save implements [Store].
func (s KVStore) Save(ctx context.Context, token string, version uint64, rec Record) (string, error) {
	if token == "" {
		return s.create(ctx, rec)
	}
	k, ok := key(token)
	if !ok {
		return "", ErrConflict
	}
	return token, s.KV.Update(ctx, k, version, rec)
}

func (s KVStore) create(ctx context.Context, rec Record) (string, error) {
	// A collision of 256 random bits does not happen; the loop is there so that a broken
	// random source fails loudly instead of overwriting a session.
	for range 3 {
		token := newToken()
		k, _ := key(token)
		err := s.KV.Create(ctx, k, rec)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return "", err
		}
		return token, nil
	}
	return "", errors.New("store: could not mint a unique token")
}

// Touch implements [Store].
func (s KVStore) Touch(ctx context.Context, token string, rec Record) (string, error) {
	k, ok := key(token)
	if !ok {
		return token, nil
	}
	return token, s.KV.Touch(ctx, k, rec.Active, rec.Expiry)
}

func (s KVStore) ownerKV() (OwnerKV, error) {
	o, ok := s.KV.(OwnerKV)
	if !ok {
		return nil, fmt.Errorf("store: %T cannot find sessions by owner: %w", s.KV, errors.ErrUnsupported)
	}
	return o, nil
}

// Owned implements [OwnerStore]. It returns errors.ErrUnsupported when the KV is not an
// [OwnerKV].
func (s KVStore) Owned(ctx context.Context, owner string) (map[string]Record, error) {
	o, err := s.ownerKV()
	if err != nil {
		return nil, err
	}
	recs, err := o.Owned(ctx, owner)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Record, len(recs))
	for k, rec := range recs {
		byID[KeyID(k)] = rec
	}
	return byID, nil
}

// DeleteOwned implements [OwnerStore]. It returns errors.ErrUnsupported when the KV is
// not an [OwnerKV].
func (s KVStore) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	o, err := s.ownerKV()
	if err != nil {
		return nil, err
	}
	exceptKey := ""
	if except != "" {
		k, ok := key(except)
		if !ok {
			return nil, errors.New("store: DeleteOwned: malformed token")
		}
		exceptKey = k
	}
	keys, err := o.DeleteOwned(ctx, owner, exceptKey)
	for i, k := range keys {
		keys[i] = KeyID(k)
	}
	return keys, err
}

// DeleteID implements [OwnerStore]. It returns errors.ErrUnsupported when the KV is not
// an [OwnerKV].
func (s KVStore) DeleteID(ctx context.Context, owner, id string) (bool, error) {
	if _, err := s.ownerKV(); err != nil {
		return false, err
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(raw) != sha256.Size || owner == "" {
		return false, nil
	}
	k := string(raw)
	// The Owner of the record at a key never changes (a change of owner renews the
	// session under a new key), so a record found here with this Owner is still the
	// same session when Delete runs; at worst it has become a marker meanwhile.
	rec, found, err := s.KV.Get(ctx, k)
	if err != nil || !found || rec.Owner != owner || rec.Ended != NotEnded {
		return false, err
	}
	if err := s.KV.Delete(ctx, k); err != nil {
		return false, err
	}
	return true, nil
}
