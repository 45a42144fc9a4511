package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The names of the indexes [Store.Setup] creates.
const (
	// ExpiryIndex is the index on expiry: a TTL index where the server has them, a
	// plain one (for [Store.DeleteExpired]) where it has not.
	ExpiryIndex = "typedsession_expiry"
	// OwnerIndex is the index on owner, for the owner queries ("log out
	// everywhere"): partial (only documents with an owner) where the server has
	// partial indexes, plain where it has not.
	OwnerIndex = "typedsession_owner"
)

// Setup is what [Store.Setup] found out about the server and did.
type Setup struct {
	// Server names the server, from its buildInfo: "MongoDB 8.0.4" or
	// "FerretDB v1.24.2 (MongoDB 7.0.42)".
	Server string
	// Writes is how the Store makes its conditional writes atomic on this server:
	// WriteInPlace or WriteClaimed (Options.Writes, or what WriteAuto chose).
	Writes WriteMode
	// TTL reports whether the expiry index is a TTL index: the server deletes
	// expired sessions by itself (MongoDB's TTL monitor runs once a minute).
	TTL bool
	// PartialOwner reports whether the owner index is partial (it holds only the
	// sessions that have an owner).
	PartialOwner bool
	// Unsupported lists what the server would not create, each with the server's
	// answer, in words. Setup then created the plain alternative.
	Unsupported []string
}

// NeedsCleanup reports whether expired sessions, or the claims that interrupted
// writes leave in claimed mode, stay in the collection until [Store.DeleteExpired]
// removes them: then run [Store.StartCleanup] (or DeleteExpired from a job of your
// own). It is true when the server has no TTL index, and in claimed mode.
func (s Setup) NeedsCleanup() bool { return !s.TTL || s.Writes == WriteClaimed }

// Setup prepares the collection: it asks the server what it is (buildInfo), which
// settles WriteAuto, and creates the indexes the Store uses, as the server supports
// them:
//
//   - ExpiryIndex on {expiry: 1}, with expireAfterSeconds 0 (a TTL index): the server
//     deletes a session once its expiry has passed. A server without TTL indexes
//     (FerretDB 1.x) gets a plain index, and [Setup.NeedsCleanup] is true.
//   - OwnerIndex on {owner: 1}, partial on {owner: {$exists: true}}; plain on a
//     server without partial indexes.
//
// Setup is idempotent and safe to call from several instances at once. It fails if
// an index of the same name or keys exists with other options (a plain expiry index
// made on a server without TTL, say): drop that index and call Setup again.
func (s *Store) Setup(ctx context.Context) (Setup, error) {
	info, err := s.kv.serverInfo(ctx)
	if err != nil {
		return Setup{}, fmt.Errorf("mongostore: setup: %w", err)
	}
	res := Setup{Server: info.name(), Writes: s.kv.settle(info)}
	idx := s.kv.coll.Indexes()

	res.TTL, err = createIndex(ctx, idx, &res, "TTL index on expiry",
		mongo.IndexModel{Keys: bson.D{{Key: "expiry", Value: 1}}, Options: options.Index().SetName(ExpiryIndex).SetExpireAfterSeconds(0)},
		mongo.IndexModel{Keys: bson.D{{Key: "expiry", Value: 1}}, Options: options.Index().SetName(ExpiryIndex)})
	if err != nil {
		return res, err
	}
	res.PartialOwner, err = createIndex(ctx, idx, &res, "partial index on owner",
		mongo.IndexModel{Keys: bson.D{{Key: "owner", Value: 1}}, Options: options.Index().SetName(OwnerIndex).
			SetPartialFilterExpression(bson.D{{Key: "owner", Value: bson.D{{Key: "$exists", Value: true}}}})},
		mongo.IndexModel{Keys: bson.D{{Key: "owner", Value: 1}}, Options: options.Index().SetName(OwnerIndex)})
	return res, err
}

// createIndex creates want, or, if the server does not implement one of its options,
// fallback, noting what it could not create in res. It reports whether want was
// created.
func createIndex(ctx context.Context, idx mongo.IndexView, res *Setup, what string, want, fallback mongo.IndexModel) (bool, error) {
	_, err := idx.CreateOne(ctx, want)
	if err == nil {
		return true, nil
	}
	if !unsupported(err) {
		return false, fmt.Errorf("mongostore: setup: creating the %s: %w", what, err)
	}
	res.Unsupported = append(res.Unsupported, fmt.Sprintf("%s: %v", what, err))
	if _, err := idx.CreateOne(ctx, fallback); err != nil {
		return false, fmt.Errorf("mongostore: setup: creating the %s without the option the server refused: %w", what, err)
	}
	return false, nil
}

// unsupported reports whether err is a server saying it does not implement
// something: NotImplemented (238, FerretDB), CommandNotSupported (115),
// InvalidIndexSpecificationOption (197, servers that know the option but reject it).
func unsupported(err error) bool {
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	return se.HasErrorCode(238) || se.HasErrorCode(115) || se.HasErrorCode(197)
}

// buildInfo is what a Store reads of the server's buildInfo.
type buildInfo struct {
	version  string // the MongoDB version the server is, or claims to be
	ferretDB string // FerretDB's version, "" on other servers
}

func (b buildInfo) name() string {
	if b.ferretDB != "" {
		return "FerretDB " + b.ferretDB + " (MongoDB " + b.version + ")"
	}
	return "MongoDB " + b.version
}

// serverInfo runs buildInfo on the collection's database.
func (k *kv) serverInfo(ctx context.Context) (buildInfo, error) {
	raw, err := k.coll.Database().RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		return buildInfo{}, fmt.Errorf("buildInfo: %w", err)
	}
	var b buildInfo
	b.version, _ = raw.Lookup("version").StringValueOK()
	b.ferretDB, _ = raw.Lookup("ferretdbVersion").StringValueOK()
	return b, nil
}

// writeMode returns the Store's write mode, settling WriteAuto with buildInfo the
// first time: FerretDB (any version: its 1.x conditional updates are not atomic)
// gets WriteClaimed, every other server WriteInPlace. A failed buildInfo is an error
// and is asked again next time.
func (k *kv) writeMode(ctx context.Context) (WriteMode, error) {
	if m := WriteMode(k.mode.Load()); m != WriteAuto {
		return m, nil
	}
	info, err := k.serverInfo(ctx)
	if err != nil {
		return WriteAuto, err
	}
	return k.settle(info), nil
}

// settle settles WriteAuto for the server described by info, and returns the mode.
func (k *kv) settle(info buildInfo) WriteMode {
	m := WriteInPlace
	if info.ferretDB != "" {
		m = WriteClaimed
	}
	k.mode.CompareAndSwap(int32(WriteAuto), int32(m))
	return WriteMode(k.mode.Load())
}
