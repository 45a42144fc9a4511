package mongostore

import (
	"bytes"
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
		ids, err := k.ids(ctx, bson.D{expired(cutoff)}, k.batch)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			break
		}
		// Still expired: a document replaced since the find (by a Create over an
		// expired session) stays.
		res, err := k.coll.DeleteMany(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: ids}}}, expired(cutoff)})
		if err != nil {
			return total, err
		}
		total += int(res.DeletedCount)
		if len(ids) < k.batch {
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
