package main

// The capability probe: what a MongoDB session store needs from the server, and
// how FerretDB v1.24.2 with its SQLite handler answers, asserted, so that this
// test fails when an upgrade of FerretDB (or of the driver) changes an answer.
// README.md has the table these tests check.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// The server error codes (and code names) that FerretDB answers with.
const (
	codeFailedToParse   = 9     // FailedToParse
	codeCommandNotFound = 59    // CommandNotFound
	codeNotImplemented  = 238   // NotImplemented
	codeDuplicateKey    = 11000 // a write error: no code name
)

// A session document as a store keeps it.
type session struct {
	ID      bson.Binary `bson:"_id"`
	Owner   string      `bson:"owner"`
	Version int64       `bson:"version"`
	Expiry  time.Time   `bson:"expiry"`
	Data    []byte      `bson:"data"`
}

// startFerretDB runs FerretDB in this process on a free loopback port, until
// the test ends, and returns its URI. It skips the test when FerretDB cannot
// start, unless CI is set.
func startFerretDB(t *testing.T) string {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := Start("127.0.0.1:0", t.TempDir(), logger)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("FerretDB did not start: %v", err)
		}
		t.Skipf("FerretDB did not start (with CI set this fails): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("FerretDB: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("FerretDB still runs 30 s after it was told to stop")
		}
	})
	return s.URI
}

// connect returns a client of uri, disconnected when the test ends.
func connect(t *testing.T, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	client, err := mongo.Connect(append([]*options.ClientOptions{options.Client().ApplyURI(uri)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Disconnect(ctx); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	return client
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newKey returns a session key as the store keeps it: 32 random bytes, binary
// subtype 0.
func newKey() bson.Binary {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails
	return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: b}
}

func insert(t *testing.T, c *mongo.Collection, docs ...session) {
	t.Helper()
	for _, d := range docs {
		if _, err := c.InsertOne(testContext(t), d); err != nil {
			t.Fatalf("insert %x: %v", d.ID.Data, err)
		}
	}
}

// find returns the document with key k, or nil if there is none.
func find(t *testing.T, c *mongo.Collection, k bson.Binary) *session {
	t.Helper()
	var s session
	err := c.FindOne(testContext(t), bson.D{{Key: "_id", Value: k}}).Decode(&s)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		t.Fatalf("find %x: %v", k.Data, err)
	}
	return &s
}

// wantCommandError fails the test unless err is a server's command error with
// this code, code name and message.
func wantCommandError(t *testing.T, err error, code int32, name, message string) {
	t.Helper()
	var ce mongo.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T %v, want a mongo.CommandError %d (%s)", err, err, code, name)
	}
	if ce.Code != code || ce.Name != name || ce.Message != message {
		t.Fatalf("got CommandError{Code: %d, Name: %q, Message: %q}, want {%d, %q, %q}", ce.Code, ce.Name, ce.Message, code, name, message)
	}
	var se mongo.ServerError
	if !errors.As(err, &se) || !se.HasErrorCode(int(code)) {
		t.Fatalf("%v: mongo.ServerError.HasErrorCode(%d) is false", err, code)
	}
}

// wantDuplicateKey fails the test unless err is the duplicate-key write error
// FerretDB returns for collection c.
func wantDuplicateKey(t *testing.T, err error, c *mongo.Collection) {
	t.Helper()
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("got %v, want a duplicate-key error", err)
	}
	var we mongo.WriteException
	if !errors.As(err, &we) || len(we.WriteErrors) != 1 {
		t.Fatalf("got %T %v, want a mongo.WriteException with one write error", err, err)
	}
	// MongoDB's message goes on with "index: _id_ dup key: { _id: ... }";
	// FerretDB's names neither the index nor the key.
	want := fmt.Sprintf("E11000 duplicate key error collection: %s.%s", c.Database().Name(), c.Name())
	if got := we.WriteErrors[0]; got.Code != codeDuplicateKey || got.Message != want {
		t.Fatalf("got write error %d %q, want %d %q", got.Code, got.Message, codeDuplicateKey, want)
	}
}

func TestCapabilities(t *testing.T) {
	client := connect(t, startFerretDB(t))
	db := client.Database("probe")
	for i, tc := range []struct {
		name  string
		probe func(t *testing.T, c *mongo.Collection)
	}{
		{"InsertBinaryID", probeInsertBinaryID},
		{"DuplicateKey", probeDuplicateKey},
		{"FindLive", probeFindLive},
		{"CompareAndSet", probeCompareAndSet},
		{"ReplaceIfExpired", probeReplaceIfExpired},
		{"FindOneAndUpdate", probeFindOneAndUpdate},
		{"FindOneAndDelete", probeFindOneAndDelete},
		{"DeleteMany", probeDeleteMany},
		{"In", probeIn},
		{"SortLimit", probeSortLimit},
		{"Indexes", probeIndexes},
		{"WriteConcern", probeWriteConcern},
		{"Transactions", probeTransactions},
		{"ServerIdentity", probeServerIdentity},
		{"QueryPlan", probeQueryPlan},
		{"Atomicity", probeAtomicity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.probe(t, db.Collection(fmt.Sprintf("c%d", i)))
		})
	}
}

// insertOne with a 32-byte binary (subtype 0) _id, and the key reads back as it went in.
func probeInsertBinaryID(t *testing.T, c *mongo.Collection) {
	k := newKey()
	expiry := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	res, err := c.InsertOne(testContext(t), session{ID: k, Owner: "alice", Version: 1, Expiry: expiry, Data: []byte("v")})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := res.InsertedID.(bson.Binary); !ok || !id.Equal(k) {
		t.Fatalf("InsertedID = %#v, want %#v", res.InsertedID, k)
	}
	got := find(t, c, k)
	if got == nil || !got.ID.Equal(k) || got.ID.Subtype != 0 || got.Owner != "alice" || !got.Expiry.Equal(expiry) || string(got.Data) != "v" {
		t.Fatalf("read back %+v", got)
	}
}

// A second insertOne of the same _id: mongo.IsDuplicateKeyError, write error 11000.
func probeDuplicateKey(t *testing.T, c *mongo.Collection) {
	k := newKey()
	insert(t, c, session{ID: k, Owner: "alice", Version: 1})
	_, err := c.InsertOne(testContext(t), session{ID: k, Owner: "bob", Version: 1})
	wantDuplicateKey(t, err, c)
	if got := find(t, c, k); got == nil || got.Owner != "alice" {
		t.Fatalf("after the duplicate insert: %+v", got)
	}
}

// findOne {_id: k, expiry: {$gt: now}}: the live document, not an expired one.
func probeFindLive(t *testing.T, c *mongo.Collection) {
	now := time.Now()
	live, expired := newKey(), newKey()
	insert(t, c,
		session{ID: live, Version: 1, Expiry: now.Add(time.Hour)},
		session{ID: expired, Version: 1, Expiry: now.Add(-time.Second)},
	)
	for _, tc := range []struct {
		name  string
		key   bson.Binary
		found bool
	}{
		{"live", live, true},
		{"expired", expired, false},
		{"absent", newKey(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s session
			err := c.FindOne(testContext(t), bson.D{
				{Key: "_id", Value: tc.key},
				{Key: "expiry", Value: bson.D{{Key: "$gt", Value: now}}},
			}).Decode(&s)
			switch {
			case tc.found && err != nil:
				t.Fatal(err)
			case tc.found && !s.ID.Equal(tc.key):
				t.Fatalf("found %x", s.ID.Data)
			case !tc.found && !errors.Is(err, mongo.ErrNoDocuments):
				t.Fatalf("got %v, want mongo.ErrNoDocuments", err)
			}
		})
	}
}

// updateOne {_id, version, expiry > now} {$set}: MatchedCount tells whether the
// version was current.
func probeCompareAndSet(t *testing.T, c *mongo.Collection) {
	now := time.Now()
	live, expired := newKey(), newKey()
	insert(t, c,
		session{ID: live, Version: 1, Expiry: now.Add(time.Hour)},
		session{ID: expired, Version: 1, Expiry: now.Add(-time.Second)},
	)
	for _, tc := range []struct {
		name        string
		key         bson.Binary
		version     int64
		wantMatched int64
		wantVersion int64 // the stored version afterwards
	}{
		{"current", live, 1, 1, 2},
		{"stale", live, 1, 0, 2},
		{"expired", expired, 1, 0, 1},
		{"absent", newKey(), 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.UpdateOne(testContext(t),
				bson.D{
					{Key: "_id", Value: tc.key},
					{Key: "version", Value: tc.version},
					{Key: "expiry", Value: bson.D{{Key: "$gt", Value: now}}},
				},
				bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: tc.version + 1}}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.MatchedCount != tc.wantMatched || res.ModifiedCount != tc.wantMatched || res.UpsertedCount != 0 {
				t.Fatalf("got %+v, want MatchedCount = ModifiedCount = %d", res, tc.wantMatched)
			}
			got := find(t, c, tc.key)
			if (got == nil && tc.wantVersion != 0) || (got != nil && got.Version != tc.wantVersion) {
				t.Fatalf("stored %+v, want version %d", got, tc.wantVersion)
			}
		})
	}
}

// updateOne {_id: k, expiry: {$lte: now}} {$set} with upsert: inserts an absent
// key (with _id taken from the filter), replaces an expired document, and fails
// with a duplicate key on a live one, which it leaves as it was.
func probeReplaceIfExpired(t *testing.T, c *mongo.Collection) {
	now := time.Now()
	live, expired, absent := newKey(), newKey(), newKey()
	insert(t, c,
		session{ID: live, Owner: "old", Version: 1, Expiry: now.Add(time.Hour)},
		session{ID: expired, Owner: "old", Version: 1, Expiry: now.Add(-time.Second)},
	)
	for _, tc := range []struct {
		name      string
		key       bson.Binary
		matched   int64
		upserted  bool
		dup       bool
		wantOwner string
	}{
		{"absent", absent, 0, true, false, "new"},
		{"expired", expired, 1, false, false, "new"},
		{"live", live, 0, false, true, "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.UpdateOne(testContext(t),
				bson.D{{Key: "_id", Value: tc.key}, {Key: "expiry", Value: bson.D{{Key: "$lte", Value: now}}}},
				bson.D{{Key: "$set", Value: bson.D{
					{Key: "owner", Value: "new"}, {Key: "version", Value: int64(1)}, {Key: "expiry", Value: now.Add(time.Hour)},
				}}},
				options.UpdateOne().SetUpsert(true))
			if tc.dup {
				wantDuplicateKey(t, err, c)
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if res.MatchedCount != tc.matched || (res.UpsertedCount == 1) != tc.upserted {
					t.Fatalf("got %+v, want MatchedCount %d, upserted %v", res, tc.matched, tc.upserted)
				}
				if id, ok := res.UpsertedID.(bson.Binary); tc.upserted && (!ok || !id.Equal(tc.key)) {
					t.Fatalf("UpsertedID = %#v, want the filter's _id", res.UpsertedID)
				}
			}
			if got := find(t, c, tc.key); got == nil || got.Owner != tc.wantOwner {
				t.Fatalf("stored %+v, want owner %q", got, tc.wantOwner)
			}
		})
	}
}

// findOneAndUpdate with ReturnDocument Before and After.
func probeFindOneAndUpdate(t *testing.T, c *mongo.Collection) {
	now := time.Now()
	k, expired := newKey(), newKey()
	insert(t, c,
		session{ID: k, Version: 1, Expiry: now.Add(time.Hour)},
		session{ID: expired, Version: 1, Expiry: now.Add(-time.Second)},
	)
	for _, tc := range []struct {
		name string
		key  bson.Binary
		rd   options.ReturnDocument
		want int64 // the version returned; 0: mongo.ErrNoDocuments
	}{
		{"after", k, options.After, 2},
		{"before", k, options.Before, 2},
		{"expired", expired, options.After, 0},
		{"absent", newKey(), options.After, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got session
			err := c.FindOneAndUpdate(testContext(t),
				bson.D{{Key: "_id", Value: tc.key}, {Key: "expiry", Value: bson.D{{Key: "$gt", Value: now}}}},
				bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}},
				options.FindOneAndUpdate().SetReturnDocument(tc.rd)).Decode(&got)
			switch {
			case tc.want == 0 && !errors.Is(err, mongo.ErrNoDocuments):
				t.Fatalf("got %v, want mongo.ErrNoDocuments", err)
			case tc.want != 0 && err != nil:
				t.Fatal(err)
			case tc.want != 0 && got.Version != tc.want:
				t.Fatalf("returned version %d, want %d", got.Version, tc.want)
			}
		})
	}
	if got := find(t, c, k); got.Version != 3 {
		t.Fatalf("stored version %d, want 3", got.Version)
	}
}

// findOneAndDelete returns the document it deleted.
func probeFindOneAndDelete(t *testing.T, c *mongo.Collection) {
	k := newKey()
	insert(t, c, session{ID: k, Owner: "alice", Version: 7})
	for _, tc := range []struct {
		name  string
		found bool
	}{{"present", true}, {"gone", false}} {
		t.Run(tc.name, func(t *testing.T) {
			var got session
			err := c.FindOneAndDelete(testContext(t), bson.D{{Key: "_id", Value: k}}).Decode(&got)
			switch {
			case !tc.found && !errors.Is(err, mongo.ErrNoDocuments):
				t.Fatalf("got %v, want mongo.ErrNoDocuments", err)
			case tc.found && err != nil:
				t.Fatal(err)
			case tc.found && (got.Version != 7 || got.Owner != "alice"):
				t.Fatalf("returned %+v", got)
			}
		})
	}
	if got := find(t, c, k); got != nil {
		t.Fatalf("still stored: %+v", got)
	}
}

// deleteMany on the indexed owner field (a user's sessions), and on expiry (a
// sweep of the expired ones, which the store must do itself: no TTL index).
func probeDeleteMany(t *testing.T, c *mongo.Collection) {
	ctx := testContext(t)
	for _, field := range []string{"owner", "expiry"} {
		if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: field, Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for i := range 6 {
		owner, expiry := "alice", now.Add(time.Hour)
		if i%2 == 1 {
			owner = "bob"
		}
		if i >= 4 {
			expiry = now.Add(-time.Second)
		}
		insert(t, c, session{ID: newKey(), Owner: owner, Version: 1, Expiry: expiry})
	}
	for _, tc := range []struct {
		name   string
		filter bson.D
		want   int64
	}{
		{"owner", bson.D{{Key: "owner", Value: "bob"}}, 3},
		{"expired", bson.D{{Key: "expiry", Value: bson.D{{Key: "$lte", Value: now}}}}, 1}, // alice's; bob's went above
		{"none", bson.D{{Key: "owner", Value: "carol"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.DeleteMany(testContext(t), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if res.DeletedCount != tc.want {
				t.Fatalf("DeletedCount = %d, want %d", res.DeletedCount, tc.want)
			}
		})
	}
	if n, err := c.CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Fatalf("%d documents left (%v), want 2", n, err)
	}
}

// find {_id: {$in: [...]}} with binary keys.
func probeIn(t *testing.T, c *mongo.Collection) {
	a, b, other := newKey(), newKey(), newKey()
	insert(t, c, session{ID: a, Version: 1}, session{ID: b, Version: 2}, session{ID: other, Version: 3})
	cur, err := c.Find(testContext(t), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{a, b, newKey()}}}}},
		options.Find().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var got []session
	if err := cur.All(testContext(t), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].ID.Equal(a) || !got[1].ID.Equal(b) {
		t.Fatalf("got %+v, want the documents of a and b", got)
	}
}

// find with sort and limit: a user's newest sessions first.
func probeSortLimit(t *testing.T, c *mongo.Collection) {
	now := time.Now()
	for i := range 5 {
		insert(t, c, session{ID: newKey(), Owner: "alice", Version: int64(i), Expiry: now.Add(time.Duration(i) * time.Minute)})
	}
	insert(t, c, session{ID: newKey(), Owner: "bob", Version: 99, Expiry: now.Add(time.Hour)})
	cur, err := c.Find(testContext(t), bson.D{{Key: "owner", Value: "alice"}},
		options.Find().SetSort(bson.D{{Key: "expiry", Value: -1}}).SetLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	var got []session
	if err := cur.All(testContext(t), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != 4 || got[1].Version != 3 {
		t.Fatalf("got %+v, want versions 4 and 3", got)
	}
}

// createIndexes: plain indexes work; TTL and partial indexes are NotImplemented.
func probeIndexes(t *testing.T, c *mongo.Collection) {
	for _, tc := range []struct {
		name    string
		model   mongo.IndexModel
		wantErr string // the NotImplemented message, "" for success
	}{
		{"owner_1", mongo.IndexModel{Keys: bson.D{{Key: "owner", Value: 1}}}, ""},
		{"expiry_1", mongo.IndexModel{Keys: bson.D{{Key: "expiry", Value: 1}}}, ""},
		{"ttl", mongo.IndexModel{
			Keys:    bson.D{{Key: "expiry", Value: 1}},
			Options: options.Index().SetName("ttl").SetExpireAfterSeconds(0),
		}, `Index option "expireAfterSeconds" is not implemented yet`},
		{"partial", mongo.IndexModel{
			Keys:    bson.D{{Key: "owner", Value: 1}},
			Options: options.Index().SetName("partial").SetPartialFilterExpression(bson.D{{Key: "owner", Value: bson.D{{Key: "$exists", Value: true}}}}),
		}, `Index option "partialFilterExpression" is not implemented yet`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, err := c.Indexes().CreateOne(testContext(t), tc.model)
			if tc.wantErr != "" {
				wantCommandError(t, err, codeNotImplemented, "NotImplemented", tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.name {
				t.Fatalf("index name %q, want %q", name, tc.name)
			}
		})
	}
	cur, err := c.Indexes().List(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(testContext(t), &specs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if want := []string{"_id_", "expiry_1", "owner_1"}; !slices.Equal(names, want) {
		t.Fatalf("indexes %q, want %q", names, want)
	}
}

// Writes with w: majority and with j: true are accepted (and acknowledged).
func probeWriteConcern(t *testing.T, c *mongo.Collection) {
	journal := true
	for _, tc := range []struct {
		name string
		wc   *writeconcern.WriteConcern
	}{
		{"majority", writeconcern.Majority()},
		{"journaled", &writeconcern.WriteConcern{W: 1, Journal: &journal}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc := c.Database().Collection(c.Name(), options.Collection().SetWriteConcern(tc.wc))
			k := newKey()
			res, err := wc.InsertOne(testContext(t), session{ID: k, Version: 1})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Acknowledged || find(t, c, k) == nil {
				t.Fatalf("got %+v, and the document is not stored", res)
			}
		})
	}
}

// No transactions: the server rejects the first command of one with
// FailedToParse (MongoDB's standalone server says IllegalOperation, 20), and
// nothing is written. The driver still uses sessions, as the server reports
// logicalSessionTimeoutMinutes; endSessions, sent on Disconnect, is
// CommandNotFound, which the driver ignores.
func probeTransactions(t *testing.T, c *mongo.Collection) {
	ctx := testContext(t)
	var hello struct {
		SetName                      string `bson:"setName"`
		Msg                          string `bson:"msg"`
		LogicalSessionTimeoutMinutes int32  `bson:"logicalSessionTimeoutMinutes"`
	}
	if err := c.Database().Client().Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		t.Fatal(err)
	}
	if hello.SetName != "" || hello.Msg != "" || hello.LogicalSessionTimeoutMinutes != 30 {
		t.Fatalf("hello: %+v, want a standalone server with logicalSessionTimeoutMinutes 30", hello)
	}

	sess, err := c.Database().Client().StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(ctx)
	k := newKey()
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		return c.InsertOne(ctx, session{ID: k, Version: 1})
	})
	wantCommandError(t, err, codeFailedToParse, "FailedToParse", `insert: unknown field "startTransaction"`)
	if got := find(t, c, k); got != nil {
		t.Fatalf("the transaction's insert is stored: %+v", got)
	}

	err = c.Database().Client().Database("admin").RunCommand(ctx, bson.D{
		{Key: "endSessions", Value: bson.A{sess.ID()}},
	}).Err()
	wantCommandError(t, err, codeCommandNotFound, "CommandNotFound", "no such command: 'endSessions'")
}

// buildInfo tells FerretDB from MongoDB: it has a ferretdbVersion field.
func probeServerIdentity(t *testing.T, c *mongo.Collection) {
	var info struct {
		Version         string `bson:"version"`
		FerretDBVersion string `bson:"ferretdbVersion"`
	}
	if err := c.Database().Client().Database("admin").RunCommand(testContext(t), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.FerretDBVersion != "v1.24.2" || info.Version != "7.0.42" {
		t.Fatalf("buildInfo: %+v, want ferretdbVersion v1.24.2, version 7.0.42", info)
	}
}

// explain: which filters FerretDB hands to SQLite, and how SQLite runs them.
// Only a filter that is exactly {_id: <string or ObjectId>} is pushed down, and
// even that is a scan: no query uses an index, so every lookup (and every
// update or delete, which start with the same query) reads the whole collection.
func probeQueryPlan(t *testing.T, c *mongo.Collection) {
	k := newKey()
	insert(t, c, session{ID: k, Owner: "alice", Version: 1})
	for _, field := range []string{"owner", "expiry"} {
		if _, err := c.Indexes().CreateOne(testContext(t), mongo.IndexModel{Keys: bson.D{{Key: field, Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		filter   bson.D
		pushdown bool
	}{
		{"binary _id", bson.D{{Key: "_id", Value: k}}, false},
		{"binary _id and expiry", bson.D{{Key: "_id", Value: k}, {Key: "expiry", Value: bson.D{{Key: "$gt", Value: time.Now()}}}}, false},
		{"indexed owner", bson.D{{Key: "owner", Value: "alice"}}, false},
		{"indexed expiry", bson.D{{Key: "expiry", Value: bson.D{{Key: "$lte", Value: time.Now()}}}}, false},
		{"string _id", bson.D{{Key: "_id", Value: "k"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plan struct {
				FilterPushdown bool `bson:"filterPushdown"`
				QueryPlanner   struct {
					Plan []string `bson:"Plan"`
				} `bson:"queryPlanner"`
			}
			err := c.Database().RunCommand(testContext(t), bson.D{
				{Key: "explain", Value: bson.D{{Key: "find", Value: c.Name()}, {Key: "filter", Value: tc.filter}}},
			}).Decode(&plan)
			if err != nil {
				t.Fatal(err)
			}
			if plan.FilterPushdown != tc.pushdown {
				t.Errorf("filterPushdown = %v, want %v", plan.FilterPushdown, tc.pushdown)
			}
			if len(plan.QueryPlanner.Plan) != 1 || !strings.Contains(plan.QueryPlanner.Plan[0], "detail=SCAN ") || strings.Contains(plan.QueryPlanner.Plan[0], "INDEX") {
				t.Errorf("SQLite plan %q, want a scan of the table", plan.QueryPlanner.Plan)
			}
		})
	}
}

// Concurrent writes to one document. FerretDB v1 runs an update (updateOne,
// findOneAndUpdate, an upsert's update) as a query, the filter applied in Go,
// then a write by _id alone in a second SQLite statement, not in one
// transaction: writes that race all match, and the last one wins. Only the
// unique _id makes one insert win. MongoDB applies the filter and the write
// atomically, so there exactly one of the racers matches.
func probeAtomicity(t *testing.T, c *mongo.Collection) {
	const (
		racers    = 8
		maxRounds = 200 // a race shows up within a few rounds; give up after these
	)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		atomic bool
		// setup stores what the racers race for, if anything.
		setup func(t *testing.T, k bson.Binary)
		// race is one racer's write; it reports whether the write took effect.
		race func(ctx context.Context, k bson.Binary, racer int) (bool, error)
	}{
		{
			name:   "insertOne of one _id",
			atomic: true,
			setup:  func(*testing.T, bson.Binary) {},
			race: func(ctx context.Context, k bson.Binary, racer int) (bool, error) {
				_, err := c.InsertOne(ctx, session{ID: k, Version: int64(racer)})
				if mongo.IsDuplicateKeyError(err) {
					return false, nil
				}
				return err == nil, err
			},
		},
		{
			name: "updateOne with a version filter",
			setup: func(t *testing.T, k bson.Binary) {
				insert(t, c, session{ID: k, Version: 1, Expiry: now.Add(time.Hour)})
			},
			race: func(ctx context.Context, k bson.Binary, racer int) (bool, error) {
				res, err := c.UpdateOne(ctx,
					bson.D{{Key: "_id", Value: k}, {Key: "version", Value: int64(1)}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: int64(2)}, {Key: "owner", Value: fmt.Sprint(racer)}}}})
				if err != nil {
					return false, err
				}
				return res.MatchedCount == 1, nil
			},
		},
		{
			name: "findOneAndUpdate with a version filter",
			setup: func(t *testing.T, k bson.Binary) {
				insert(t, c, session{ID: k, Version: 1, Expiry: now.Add(time.Hour)})
			},
			race: func(ctx context.Context, k bson.Binary, racer int) (bool, error) {
				err := c.FindOneAndUpdate(ctx,
					bson.D{{Key: "_id", Value: k}, {Key: "version", Value: int64(1)}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: int64(2)}, {Key: "owner", Value: fmt.Sprint(racer)}}}}).Err()
				if errors.Is(err, mongo.ErrNoDocuments) {
					return false, nil
				}
				return err == nil, err
			},
		},
		{
			name: "upsert replacing an expired document",
			setup: func(t *testing.T, k bson.Binary) {
				insert(t, c, session{ID: k, Version: 1, Expiry: now.Add(-time.Second)})
			},
			race: func(ctx context.Context, k bson.Binary, racer int) (bool, error) {
				res, err := c.UpdateOne(ctx,
					bson.D{{Key: "_id", Value: k}, {Key: "expiry", Value: bson.D{{Key: "$lte", Value: now}}}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "expiry", Value: now.Add(time.Hour)}, {Key: "owner", Value: fmt.Sprint(racer)}}}},
					options.UpdateOne().SetUpsert(true))
				if mongo.IsDuplicateKeyError(err) {
					return false, nil
				}
				if err != nil {
					return false, err
				}
				return res.MatchedCount+res.UpsertedCount == 1, nil
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rounds := maxRounds
			if tc.atomic {
				rounds = 20
			}
			for round := range rounds {
				k := newKey()
				tc.setup(t, k)
				winners := raceOnce(t, racers, func(ctx context.Context, racer int) (bool, error) {
					return tc.race(ctx, k, racer)
				})
				switch {
				case tc.atomic && winners != 1:
					t.Fatalf("round %d: %d of %d racers won, want exactly 1", round, winners, racers)
				case !tc.atomic && winners == 0:
					t.Fatalf("round %d: no racer won", round)
				case !tc.atomic && winners > 1:
					t.Logf("not atomic: %d of %d racers won in round %d", winners, racers, round)
					return
				}
			}
			if !tc.atomic {
				t.Fatalf("exactly one racer won in each of %d rounds: FerretDB now makes this write atomic; update README.md and the store's workaround", rounds)
			}
		})
	}
}

// raceOnce starts racers goroutines at once on write and returns how many won.
func raceOnce(t *testing.T, racers int, write func(ctx context.Context, racer int) (bool, error)) int {
	t.Helper()
	ctx := testContext(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		errs    []error
	)
	start := make(chan struct{})
	for racer := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			won, err := write(ctx, racer)
			mu.Lock()
			defer mu.Unlock()
			if won {
				winners++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return winners
}

// A server that stalls (answers nothing) or is cut off: the driver returns when
// the context's deadline passes, and the client works again once the server is
// back, without being reconnected by hand.
func TestStallAndCut(t *testing.T) {
	u, err := url.Parse(startFerretDB(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	client := connect(t, p.URI(), options.Client().SetServerSelectionTimeout(2*time.Second))
	c := client.Database("probe").Collection("stall")
	k := newKey()
	insert(t, c, session{ID: k, Version: 1})

	const deadline = 300 * time.Millisecond
	const slack = 2 * time.Second // a loaded 2-core machine
	for _, tc := range []struct {
		name    string
		outage  func()
		restore func()
		// check tells whether err is the error this outage should give.
		check func(err error) bool
	}{
		{"stalled", p.Stall, p.Resume, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) && mongo.IsTimeout(err)
		}},
		{"cut", p.Cut, p.Restore, func(err error) bool {
			// The open connection is closed under the request (a network
			// error), or, if the pool had dropped it, no new one can be made
			// before the deadline (a server selection error).
			return mongo.IsNetworkError(err) || mongo.IsTimeout(err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.outage()
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			start := time.Now()
			err := c.FindOne(ctx, bson.D{{Key: "_id", Value: k}}).Err()
			took := time.Since(start)
			cancel()
			tc.restore()
			if err == nil {
				t.Fatal("findOne succeeded with the server out of reach")
			}
			if !tc.check(err) {
				t.Errorf("findOne: %T %v, not the error this outage should give", err, err)
			}
			if took > deadline+slack {
				t.Errorf("findOne returned %v after it started, its deadline was %v", took, deadline)
			}
			t.Logf("findOne returned after %v: %v", took.Round(time.Millisecond), err)

			// Back: the client recovers by itself (a retry per request, within a bound).
			recovered := time.Now().Add(15 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				err := client.Ping(ctx, readpref.Primary())
				if err == nil {
					err = c.FindOne(ctx, bson.D{{Key: "_id", Value: k}}).Err()
				}
				cancel()
				if err == nil {
					break
				}
				if time.Now().After(recovered) {
					t.Fatalf("the client has not recovered 15 s after the server came back: %v", err)
				}
			}
		})
	}
}
