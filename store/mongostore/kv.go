package mongostore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/internal/notify"
	"github.com/seed96b21533/typedsession/store"
)

// kv is the [store.KV] and [store.OwnerKV] of a Store: one document per session,
// keyed by the 32-byte key as a binary _id.
//
// A document is live while the application's clock is before its expiry: each
// command carries time.Now() of the calling process, the clock the Manager uses,
// rather than the server's. Expired documents are never returned nor updated,
// whether or not they have been deleted yet.
type kv struct {
	coll  *mongo.Collection
	batch int
	mode  atomic.Int32 // a WriteMode; WriteAuto until settled
	subs  notify.List  // store.Notifier: who hears of what deleteExpired deletes

	// hook, when set (by tests), is called at the named points of the claimed writes
	// and of deleteExpired.
	hook atomic.Pointer[func(point string)]
}

// The fields of a session document.
const (
	fID         = "_id"
	fData       = "data"
	fExpiry     = "expiry"
	fCreated    = "created"
	fActive     = "active"
	fVersion    = "version"
	fOwner      = "owner"
	fRememberMe = "rememberMe"
	fEnded      = "ended"
)

// id returns key as the _id of its document: BSON binary, subtype 0.
func id(key string) bson.Binary {
	return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: []byte(key)}
}

// fields returns the document of rec, without its _id: every field of the Record;
// active only when it is set, owner only when it is not empty (so that the owner
// index holds only documents with an owner).
func fields(rec store.Record) bson.D {
	data := rec.Data
	if data == nil {
		data = []byte{}
	}
	d := make(bson.D, 0, 9)
	d = append(d,
		bson.E{Key: fData, Value: bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: data}},
		bson.E{Key: fExpiry, Value: bson.NewDateTimeFromTime(rec.Expiry)},
		bson.E{Key: fCreated, Value: bson.NewDateTimeFromTime(rec.Created)},
	)
	if !rec.Active.IsZero() {
		d = append(d, bson.E{Key: fActive, Value: bson.NewDateTimeFromTime(rec.Active)})
	}
	d = append(d, bson.E{Key: fVersion, Value: int64(rec.Version)})
	if rec.Owner != "" {
		d = append(d, bson.E{Key: fOwner, Value: rec.Owner})
	}
	return append(d,
		bson.E{Key: fRememberMe, Value: rec.RememberMe},
		bson.E{Key: fEnded, Value: int32(rec.Ended)},
	)
}

// document returns the whole document of rec at key.
func document(key string, rec store.Record) bson.D {
	return append(bson.D{{Key: fID, Value: id(key)}}, fields(rec)...)
}

// errMalformed reports a document that is not a session as this package writes them.
var errMalformed = errors.New("malformed session document")

// decode returns the Record of a session document. Data may be absent (a projection
// without it); every other field but active and owner must be there, with its type.
func decode(raw bson.Raw) (store.Record, error) {
	var rec store.Record
	bad := func(field string) (store.Record, error) {
		return store.Record{}, fmt.Errorf("%w: field %q is missing or of another type", errMalformed, field)
	}
	if v, err := raw.LookupErr(fData); err == nil {
		_, data, ok := v.BinaryOK()
		if !ok {
			return bad(fData)
		}
		rec.Data = bytes.Clone(data)
	}
	ms, ok := raw.Lookup(fExpiry).DateTimeOK()
	if !ok {
		return bad(fExpiry)
	}
	rec.Expiry = time.UnixMilli(ms)
	if ms, ok = raw.Lookup(fCreated).DateTimeOK(); !ok {
		return bad(fCreated)
	}
	rec.Created = time.UnixMilli(ms)
	if v, err := raw.LookupErr(fActive); err == nil {
		if ms, ok = v.DateTimeOK(); !ok {
			return bad(fActive)
		}
		rec.Active = time.UnixMilli(ms)
	}
	version, ok := raw.Lookup(fVersion).Int64OK()
	if !ok {
		return bad(fVersion)
	}
	rec.Version = uint64(version)
	if v, err := raw.LookupErr(fOwner); err == nil {
		if rec.Owner, ok = v.StringValueOK(); !ok {
			return bad(fOwner)
		}
	}
	if rec.RememberMe, ok = raw.Lookup(fRememberMe).BooleanOK(); !ok {
		return bad(fRememberMe)
	}
	ended, ok := raw.Lookup(fEnded).Int32OK()
	if !ok || ended < 0 || ended > 255 {
		return bad(fEnded)
	}
	rec.Ended = store.EndReason(ended)
	return rec, nil
}

// live is the filter condition of a document that has not expired at now.
func live(now time.Time) bson.E {
	return bson.E{Key: fExpiry, Value: bson.D{{Key: "$gt", Value: bson.NewDateTimeFromTime(now)}}}
}

// expired is the filter condition of a document that has expired at or before t.
func expired(t time.Time) bson.E {
	return bson.E{Key: fExpiry, Value: bson.D{{Key: "$lte", Value: bson.NewDateTimeFromTime(t)}}}
}

// Get implements [store.KV]: one findOne.
func (k *kv) Get(ctx context.Context, key string) (store.Record, bool, error) {
	raw, err := k.coll.FindOne(ctx, bson.D{{Key: fID, Value: id(key)}, live(time.Now())}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return store.Record{}, false, nil
	}
	if err != nil {
		return store.Record{}, false, fmt.Errorf("mongostore: get: %w", err)
	}
	rec, err := decode(raw)
	if err != nil {
		return store.Record{}, false, fmt.Errorf("mongostore: get: %w", err)
	}
	return rec, true, nil
}

// Create implements [store.KV]. In place, it is one replaceOne with upsert whose
// filter matches only an expired document at key: it inserts where there is none,
// replaces an expired one, and fails with a duplicate key where a live one is. In
// claimed mode it is an insertOne, and, only where an expired document is in the
// way, a deleteOne of it and a second insertOne.
func (k *kv) Create(ctx context.Context, key string, rec store.Record) error {
	mode, err := k.writeMode(ctx)
	if err != nil {
		return fmt.Errorf("mongostore: create: %w", err)
	}
	if mode == WriteClaimed {
		err = k.createClaimed(ctx, key, rec)
	} else {
		_, err = k.coll.ReplaceOne(ctx, bson.D{{Key: fID, Value: id(key)}, expired(time.Now())}, fields(rec),
			options.Replace().SetUpsert(true))
	}
	if mongo.IsDuplicateKeyError(err) {
		return store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("mongostore: create: %w", err)
	}
	return nil
}

// createClaimed is Create by inserts: the one write a server without atomic
// conditional updates (FerretDB 1.x) still makes atomic, through the unique _id.
func (k *kv) createClaimed(ctx context.Context, key string, rec store.Record) error {
	doc := document(key, rec)
	_, err := k.coll.InsertOne(ctx, doc)
	if !mongo.IsDuplicateKeyError(err) {
		return err
	}
	// A document is in the way. If it has expired, delete it and insert again: a
	// writer that inserts meanwhile makes the second insert fail, as it should. (On
	// FerretDB the deleteOne is itself a read, then a delete by _id: two Creates of
	// one key racing over an expired document, which takes two tokens with one
	// SHA-256, could see the second delete the first's new document.)
	res, err := k.coll.DeleteOne(ctx, bson.D{{Key: fID, Value: id(key)}, expired(time.Now())})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return store.ErrConflict // live
	}
	_, err = k.coll.InsertOne(ctx, doc)
	return err
}

// Update implements [store.KV]. In place, it is one replaceOne whose filter holds
// the key, the version and the liveness: no document matched is ErrConflict, without
// a second round trip to find out why. In claimed mode the same replaceOne runs
// under a claim on the version (see claim.go).
func (k *kv) Update(ctx context.Context, key string, version uint64, rec store.Record) error {
	mode, err := k.writeMode(ctx)
	if err != nil {
		return fmt.Errorf("mongostore: update: %w", err)
	}
	if mode == WriteClaimed {
		err = k.updateClaimed(ctx, key, version, rec)
	} else {
		err = k.replace(ctx, key, version, rec)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("mongostore: update: %w", err)
	}
	return err
}

// replace replaces the live document at key and version with rec, or returns
// ErrConflict if there is none.
func (k *kv) replace(ctx context.Context, key string, version uint64, rec store.Record) error {
	res, err := k.coll.ReplaceOne(ctx,
		bson.D{{Key: fID, Value: id(key)}, {Key: fVersion, Value: int64(version)}, live(time.Now())},
		fields(rec))
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return store.ErrConflict
	}
	return nil
}

// Touch implements [store.KV]. In place, it is one updateOne that sets active and
// expiry of the live document at key. In claimed mode it reads the document's
// version first, then makes the same update under a claim on that version; if
// another write holds the claim, Touch gives way to it and does nothing.
func (k *kv) Touch(ctx context.Context, key string, active, expiry time.Time) error {
	mode, err := k.writeMode(ctx)
	if err != nil {
		return fmt.Errorf("mongostore: touch: %w", err)
	}
	if mode == WriteClaimed {
		err = k.touchClaimed(ctx, key, active, expiry)
	} else {
		_, err = k.coll.UpdateOne(ctx, bson.D{{Key: fID, Value: id(key)}, live(time.Now())}, touchUpdate(active, expiry))
	}
	if err != nil {
		return fmt.Errorf("mongostore: touch: %w", err)
	}
	return nil
}

// touchUpdate is the update of a touch: active and expiry set, or active removed when
// it is zero.
func touchUpdate(active, expiry time.Time) bson.D {
	set := bson.D{{Key: fExpiry, Value: bson.NewDateTimeFromTime(expiry)}}
	if active.IsZero() {
		return bson.D{{Key: "$set", Value: set}, {Key: "$unset", Value: bson.D{{Key: fActive, Value: ""}}}}
	}
	set = append(set, bson.E{Key: fActive, Value: bson.NewDateTimeFromTime(active)})
	return bson.D{{Key: "$set", Value: set}}
}

// Delete implements [store.KV]: one deleteOne.
func (k *kv) Delete(ctx context.Context, key string) error {
	if _, err := k.coll.DeleteOne(ctx, bson.D{{Key: fID, Value: id(key)}}); err != nil {
		return fmt.Errorf("mongostore: delete: %w", err)
	}
	return nil
}

// ownerFilter is the filter of the live sessions (no markers) of owner.
func ownerFilter(owner string, now time.Time) bson.D {
	return bson.D{{Key: fOwner, Value: owner}, {Key: fEnded, Value: int32(store.NotEnded)}, live(now)}
}

// Owned implements [store.OwnerKV]: one find on the owner index, without the data
// (the Data of the returned records is nil).
func (k *kv) Owned(ctx context.Context, owner string) (map[string]store.Record, error) {
	out := make(map[string]store.Record)
	if owner == "" {
		return out, nil
	}
	cur, err := k.coll.Find(ctx, ownerFilter(owner, time.Now()), options.Find().SetProjection(bson.D{{Key: fData, Value: 0}}))
	if err != nil {
		return nil, fmt.Errorf("mongostore: owned: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		_, key, ok := cur.Current.Lookup(fID).BinaryOK()
		if !ok {
			return nil, fmt.Errorf("mongostore: owned: %w: _id is not binary", errMalformed)
		}
		rec, err := decode(cur.Current)
		if err != nil {
			return nil, fmt.Errorf("mongostore: owned: %w", err)
		}
		out[string(key)] = rec
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongostore: owned: %w", err)
	}
	return out, nil
}

// DeleteOwned implements [store.OwnerKV]: one find of the _id of the live sessions
// of owner, then one deleteOne per session found, whose filter holds the owner
// condition again (a session renewed or deleted meanwhile is left alone and not
// returned). Its expired documents are left to the TTL index or the cleanup.
func (k *kv) DeleteOwned(ctx context.Context, owner, except string) ([]string, error) {
	if owner == "" {
		return nil, nil
	}
	filter := ownerFilter(owner, time.Now())
	if except != "" {
		filter = append(filter, bson.E{Key: fID, Value: bson.D{{Key: "$ne", Value: id(except)}}})
	}
	cur, err := k.coll.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: fID, Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongostore: delete owned: %w", err)
	}
	var keys []string
	for cur.Next(ctx) {
		_, key, ok := cur.Current.Lookup(fID).BinaryOK()
		if !ok {
			cur.Close(ctx)
			return nil, fmt.Errorf("mongostore: delete owned: %w: _id is not binary", errMalformed)
		}
		keys = append(keys, string(key))
	}
	err = cur.Err()
	cur.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("mongostore: delete owned: %w", err)
	}
	deleted := keys[:0]
	for _, key := range keys {
		res, err := k.coll.DeleteOne(ctx, append(ownerFilter(owner, time.Now()), bson.E{Key: fID, Value: id(key)}))
		if err != nil {
			return deleted, fmt.Errorf("mongostore: delete owned: %w", err)
		}
		if res.DeletedCount == 1 {
			deleted = append(deleted, key)
		}
	}
	return deleted, nil
}
