package mongostore

import (
	"bytes"
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/store"
)

// deleteExpired is Store.DeleteExpired, without the error's prefix.
func (k *kv) deleteExpired(ctx context.Context) (int, error) {
	mode, err := k.writeMode(ctx)
	if err != nil {
		return 0, err
	}
	var grace time.Duration
	if mode == WriteClaimed {
		grace = claimedGrace
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		cutoff := time.Now().Add(-grace)
		var found, n int
		if k.subs.Active() {
			found, n, err = k.deleteExpiredReporting(ctx, cutoff)
		} else {
			found, n, err = k.deleteExpiredRound(ctx, cutoff)
		}
		total += n
		if err != nil {
			return total, err
		}
		if found < k.batch {
			break
		}
	}
	if mode == WriteClaimed {
		if err := k.sweepClaims(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

// deleteExpiredRound deletes at most a batch of the documents that expired at or
// before cutoff: a find of their _id, then a deleteMany of those still expired. It
// returns how many the find found and how many were deleted.
func (k *kv) deleteExpiredRound(ctx context.Context, cutoff time.Time) (found, deleted int, err error) {
	ids, err := k.ids(ctx, bson.D{expired(cutoff)}, k.batch)
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	// Still expired: a document replaced since the find (by a Create over an
	// expired session) stays.
	res, err := k.coll.DeleteMany(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: ids}}}, expired(cutoff)})
	if err != nil {
		return len(ids), 0, err
	}
	return len(ids), int(res.DeletedCount), nil
}

// deleteExpiredReporting is deleteExpiredRound for a Store with subscribers
// (store.Notifier). A deleteMany says how many documents it deleted, not which, so
// this round deletes the documents it found one by one: a deleteOne each, whose
// filter holds the _id and the expiry condition, and the owner and ended that the
// find read. A deleteOne that deleted its document reports it, unless it was a
// marker, once it has returned. A document that changed since the find stays, for
// the next round or the next call.
func (k *kv) deleteExpiredReporting(ctx context.Context, cutoff time.Time) (found, deleted int, err error) {
	docs, err := k.expiredDocs(ctx, cutoff)
	if err != nil {
		return 0, 0, err
	}
	k.at("expired found")
	for _, d := range docs {
		filter := bson.D{{Key: fID, Value: d.id}, expired(cutoff), d.owner, d.ended}
		res, err := k.coll.DeleteOne(ctx, filter)
		if err != nil {
			return len(docs), deleted, err
		}
		if res.DeletedCount == 0 {
			continue
		}
		deleted++
		if d.session {
			k.subs.Notify(store.Removal{ID: store.KeyID(d.key), Owner: d.ownerName, Reason: store.Expired, Time: time.Now()})
		}
	}
	return len(docs), deleted, nil
}

// expiredDoc is what deleteExpiredReporting reads of an expired document.
type expiredDoc struct {
	id           bson.RawValue
	owner, ended bson.E // the filter conditions on owner and ended: as read
	session      bool   // a session (not a marker) with a binary _id: to report
	key          string // the _id's bytes
	ownerName    string
}

// expiredDocs returns the _id, owner and ended of at most a batch of the documents
// that expired at or before cutoff.
func (k *kv) expiredDocs(ctx context.Context, cutoff time.Time) ([]expiredDoc, error) {
	cur, err := k.coll.Find(ctx, bson.D{expired(cutoff)}, options.Find().
		SetProjection(bson.D{{Key: fID, Value: 1}, {Key: fOwner, Value: 1}, {Key: fEnded, Value: 1}}).
		SetLimit(int64(k.batch)).SetBatchSize(int32(min(k.batch, 1<<20))))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	var docs []expiredDoc
	for cur.Next(ctx) {
		raw := cur.Current
		v := raw.Lookup(fID)
		d := expiredDoc{id: bson.RawValue{Type: v.Type, Value: bytes.Clone(v.Value)}}
		d.owner, d.ownerName = asRead(raw, fOwner)
		d.ended, _ = asRead(raw, fEnded)
		_, key, isKey := v.BinaryOK()
		ended, isInt := raw.Lookup(fEnded).Int32OK()
		d.session = isKey && isInt && store.EndReason(ended) == store.NotEnded
		d.key = string(key)
		docs = append(docs, d)
	}
	return docs, cur.Err()
}

// asRead returns the filter condition that field of raw is as it is there (absent
// included), and its value when it is a string.
func asRead(raw bson.Raw, field string) (bson.E, string) {
	v, err := raw.LookupErr(field)
	if err != nil {
		return bson.E{Key: field, Value: bson.D{{Key: "$exists", Value: false}}}, ""
	}
	s, _ := v.StringValueOK()
	return bson.E{Key: field, Value: bson.D{{Key: "$eq", Value: bson.RawValue{Type: v.Type, Value: bytes.Clone(v.Value)}}}}, s
}

// ids returns the _id of at most limit documents that match filter.
func (k *kv) ids(ctx context.Context, filter bson.D, limit int) (bson.A, error) {
	cur, err := k.coll.Find(ctx, filter, options.Find().
		SetProjection(bson.D{{Key: fID, Value: 1}}).SetLimit(int64(limit)).SetBatchSize(int32(min(limit, 1<<20))))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	ids := make(bson.A, 0, limit)
	for cur.Next(ctx) {
		v := cur.Current.Lookup(fID)
		ids = append(ids, bson.RawValue{Type: v.Type, Value: bytes.Clone(v.Value)})
	}
	return ids, cur.Err()
}

// sweepClaims deletes the claims, past their time, of sessions that are gone (or
// expired longer than the grace ago): those that writers interrupted between their
// claim and its release left behind. The claims of a live session stay, as the
// generation they hold is what the next claim on that version must follow.
func (k *kv) sweepClaims(ctx context.Context) error {
	now := time.Now()
	cur, err := k.coll.Find(ctx, bson.D{{Key: fUntil, Value: bson.D{{Key: "$lte", Value: bson.NewDateTimeFromTime(now)}}}},
		options.Find().SetProjection(bson.D{{Key: fID, Value: 1}}).SetBatchSize(int32(min(k.batch, 1<<20))))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	var claims []string
	for cur.Next(ctx) {
		if c, ok := cur.Current.Lookup(fID).StringValueOK(); ok {
			if _, ok := claimKey(c); ok {
				claims = append(claims, c)
			}
		}
		if len(claims) == k.batch {
			if err := k.deleteOrphans(ctx, claims, now); err != nil {
				return err
			}
			claims = claims[:0]
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	return k.deleteOrphans(ctx, claims, now)
}

// deleteOrphans deletes those of claims whose session is gone.
func (k *kv) deleteOrphans(ctx context.Context, claims []string, now time.Time) error {
	if len(claims) == 0 {
		return nil
	}
	keys := bson.A{}
	seen := map[string]bool{}
	for _, c := range claims {
		if key, _ := claimKey(c); !seen[key] {
			seen[key] = true
			keys = append(keys, id(key))
		}
	}
	ids, err := k.ids(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: keys}}}, live(now.Add(-claimedGrace))}, len(keys))
	if err != nil {
		return err
	}
	alive := map[string]bool{}
	for _, v := range ids {
		if _, key, ok := v.(bson.RawValue).BinaryOK(); ok {
			alive[string(key)] = true
		}
	}
	orphans := bson.A{}
	for _, c := range claims {
		if key, _ := claimKey(c); !alive[key] {
			orphans = append(orphans, c)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	_, err = k.coll.DeleteMany(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: orphans}}}})
	return err
}
