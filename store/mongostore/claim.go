package mongostore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/store"
)

// Claimed writes (WriteClaimed), for servers whose conditional updates are not atomic.
//
// FerretDB 1.x runs an update as a query, its filter applied in Go, then a write of
// the whole new document by _id alone: two updates of one document that race can
// both match the version they expect, and the last one wins; a touch that races an
// update can write the document it read before the update back over it. Only an
// insert is atomic there: of several inserts of one _id, exactly one succeeds.
//
// So in claimed mode every update of a session document (Update, Touch) first
// inserts a claim: a document whose _id is the session's key, the version it changes
// from and a generation (0, unless a claim was left behind: below). A writer that
// cannot insert it gives way (Update returns ErrConflict, Touch does nothing). The
// holder then makes the same conditional write as in place, and deletes its claim.
// Every update of a version needs the same claim, so no two updates of one document
// ever run at once, and each runs on what the one before it wrote.
//
// A writer can stop between its claim and its delete (a crash, a lost connection, a
// deadline), and its write may still be on its way to the server. A claim therefore
// holds until its writer's deadline (the context's, at most maxHold away) plus
// claimMargin; after that, a writer that finds it breaks it by inserting the next
// generation, which again only one can do. Claims are deleted only by their holder,
// and by DeleteExpired once their session is gone, so a generation left behind stays
// until then and the next generation is always the one to insert.

const (
	// maxHold bounds a claimed write whose context has no earlier deadline.
	maxHold = 10 * time.Second
	// claimMargin is how long after its writer's deadline a claim still holds: the
	// time a command the writer sent before its deadline may take to run on the server
	// (FerretDB's SQLite backend waits up to 10 s for its write lock), plus the skew
	// between the clocks of the application's instances.
	claimMargin = 10 * time.Second
	// claimedGrace is how long after its expiry DeleteExpired deletes a session in
	// claimed mode, where its delete is not atomic with a touch that began before the
	// expiry.
	claimedGrace = time.Minute
)

// The fields of a claim.
const (
	fClaim = "claim" // what the claim is on: the key and the version
	fUntil = "until" // when it may be broken
)

// A claim's _id is a string, "c:" then the key, the version and the generation in
// hexadecimal, 64, 16 and 16 digits, separated by colons: a string, so that FerretDB
// finds it by _id without decoding every document (it hands only a filter of exactly
// a string or ObjectId _id to SQLite), and of fixed width, so that the generations of
// one claim sort in order.
const (
	claimPrefix = "c:"
	claimOnLen  = len(claimPrefix) + 64 + 1 + 16 // "c:" key ":" version
	claimIDLen  = claimOnLen + 1 + 16            // ... ":" generation
	claimGenAt  = claimIDLen - 16                // where the generation begins
	claimKeyEnd = len(claimPrefix) + 64          // where the key ends
	hexDigits   = "0123456789abcdef"
)

// claimOn returns what a claim on key at version is on: "c:", the key, ":", the
// version.
func claimOn(key string, version uint64) string {
	b := make([]byte, 0, claimIDLen)
	b = append(b, claimPrefix...)
	b = hex.AppendEncode(b, []byte(key))
	b = append(b, ':')
	return string(appendHex64(b, version))
}

// claimID returns the _id of the claim of generation gen on on.
func claimID(on string, gen uint64) string {
	b := make([]byte, 0, claimIDLen)
	b = append(append(b, on...), ':')
	return string(appendHex64(b, gen))
}

// appendHex64 appends v as 16 hexadecimal digits.
func appendHex64(b []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[v>>shift&0xf])
	}
	return b
}

// claimKey returns the session key a claim's _id names, and whether id is one.
func claimKey(id string) (string, bool) {
	if len(id) != claimIDLen || id[:len(claimPrefix)] != claimPrefix {
		return "", false
	}
	key, err := hex.DecodeString(id[len(claimPrefix):claimKeyEnd])
	return string(key), err == nil
}

// claim is a claim a writer holds.
type claim struct {
	id       string
	deadline time.Time // its writer's; it holds until deadline + claimMargin
}

// bound returns ctx with the deadline of a claimed write: ctx's own, or maxHold from
// now if that is sooner.
func bound(ctx context.Context) (context.Context, context.CancelFunc, time.Time) {
	deadline := time.Now().Add(maxHold)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	return ctx, cancel, deadline
}

// acquire claims the change of the document at key from version, for a writer whose
// deadline is deadline. It returns nil, nil if another writer holds the claim.
func (k *kv) acquire(ctx context.Context, key string, version uint64, deadline time.Time) (*claim, error) {
	on := claimOn(key, version)
	c := &claim{deadline: deadline}
	until := bson.NewDateTimeFromTime(deadline.Add(claimMargin))
	insert := func(gen uint64) (bool, error) {
		c.id = claimID(on, gen)
		_, err := k.coll.InsertOne(ctx, bson.D{
			{Key: fID, Value: c.id},
			{Key: fClaim, Value: on},
			{Key: fUntil, Value: until},
		})
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, err
	}
	for range 3 {
		if ok, err := insert(0); err != nil || ok {
			return held(c, ok, err)
		}
		// Generation 0 is held, or was left behind: the newest generation decides.
		raw, err := k.coll.FindOne(ctx, bson.D{{Key: fClaim, Value: on}},
			options.FindOne().SetSort(bson.D{{Key: fID, Value: -1}})).Raw()
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // its holder deleted it since
		}
		if err != nil {
			return nil, err
		}
		head, ok1 := raw.Lookup(fID).StringValueOK()
		ms, ok2 := raw.Lookup(fUntil).DateTimeOK()
		gen, err := strconv.ParseUint(head[min(claimGenAt, len(head)):], 16, 64)
		if !ok1 || !ok2 || len(head) != claimIDLen || err != nil {
			return nil, fmt.Errorf("%w: a claim without a proper _id or until", errMalformed)
		}
		if time.Now().Before(time.UnixMilli(ms)) {
			return nil, nil // held
		}
		ok, err := insert(gen + 1)
		return held(c, ok, err) // not ok: another writer broke it first
	}
	return nil, nil
}

// held returns c if ok, nil otherwise, and err.
func held(c *claim, ok bool, err error) (*claim, error) {
	if err != nil || !ok {
		return nil, err
	}
	return c, nil
}

// release deletes c, if its writer is still within its deadline: past it, the claim
// is left to expire, since a writer that late cannot tell whether it still holds it.
// A release that fails leaves the claim to expire too.
//
// It deletes by _id (the one filter FerretDB does not run by decoding every
// document): only its holder deletes a claim while it holds (the sweep of
// DeleteExpired takes only claims past their time), so the claim at c.id is c's.
func (k *kv) release(ctx context.Context, c *claim) {
	if !time.Now().Before(c.deadline) {
		return
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), c.deadline)
	defer cancel()
	_, _ = k.coll.DeleteOne(ctx, bson.D{{Key: fID, Value: c.id}})
}

// answered reports whether err says the server ran the command to its end (a success,
// a conflict, an error from the server), rather than that the command may still be
// on its way or running (a network error, a deadline, a cancellation: the driver
// reports a network error as a mongo.CommandError too).
func answered(err error) bool {
	switch {
	case err == nil || errors.Is(err, store.ErrConflict):
		return true
	case mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, context.Canceled):
		return false
	}
	var se mongo.ServerError
	return errors.As(err, &se)
}

// at calls the test hook, if any.
func (k *kv) at(point string) {
	if h := k.hook.Load(); h != nil {
		(*h)(point)
	}
}

// updateClaimed is Update in claimed mode: the replaceOne of in place, under a claim
// on version.
func (k *kv) updateClaimed(ctx context.Context, key string, version uint64, rec store.Record) error {
	ctx, cancel, deadline := bound(ctx)
	defer cancel()
	c, err := k.acquire(ctx, key, version, deadline)
	if err != nil {
		return err
	}
	if c == nil {
		return store.ErrConflict
	}
	k.at("claimed")
	err = k.replace(ctx, key, version, rec)
	if answered(err) {
		k.release(ctx, c)
	}
	return err
}

// touchClaimed is Touch in claimed mode: a findOne of the version, then the updateOne
// of in place, also conditional on that version, under a claim on it. A touch that
// finds the claim held gives way to the write that holds it.
func (k *kv) touchClaimed(ctx context.Context, key string, active, expiry time.Time) error {
	ctx, cancel, deadline := bound(ctx)
	defer cancel()
	raw, err := k.coll.FindOne(ctx, bson.D{{Key: fID, Value: id(key)}, live(time.Now())},
		options.FindOne().SetProjection(bson.D{{Key: fVersion, Value: 1}})).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return err
	}
	version, ok := raw.Lookup(fVersion).Int64OK()
	if !ok {
		return fmt.Errorf("%w: field %q is missing or of another type", errMalformed, fVersion)
	}
	c, err := k.acquire(ctx, key, uint64(version), deadline)
	if err != nil || c == nil {
		return err
	}
	k.at("claimed")
	_, err = k.coll.UpdateOne(ctx, bson.D{{Key: fID, Value: id(key)}, {Key: fVersion, Value: version}, live(time.Now())},
		touchUpdate(active, expiry))
	if answered(err) {
		k.release(ctx, c)
	}
	return err
}
