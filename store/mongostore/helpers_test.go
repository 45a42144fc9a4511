package mongostore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/mongostore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// mongoURL is the MongoDB server the tests use: MONGO_URL, or a loopback default.
// .ci/mongo start runs FerretDB there when no MongoDB answers.
var mongoURL = testenv.Getenv("MONGO_URL", "mongodb://127.0.0.1:27017")

// testDB is the database of the tests' collections.
const testDB = "typedsession_test"

// connect returns a client of uri (mongoURL when empty), pinged, and disconnects it
// when the test ends. A server that does not answer ends the test through
// testenv.Unavailable.
func connect(t testing.TB, uri string, opts ...*options.ClientOptions) *mongo.Client {
	t.Helper()
	if uri == "" {
		uri = mongoURL
	}
	o := append([]*options.ClientOptions{options.Client().ApplyURI(uri).SetServerSelectionTimeout(5 * time.Second)}, opts...)
	client, err := mongo.Connect(o...)
	if err != nil {
		t.Fatalf("mongo.Connect(%q): %v", uri, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		client.Disconnect(context.Background())
		testenv.Unavailable(t, "MongoDB at "+uri+" (.ci/mongo start runs FerretDB there)", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.Disconnect(ctx)
	})
	return client
}

var (
	sharedOnce   sync.Once
	sharedClient *mongo.Client
	sharedErr    error
)

// client returns a client of mongoURL shared by the tests of the package (as an
// application shares one), or ends the test through testenv.Unavailable.
func client(t testing.TB) *mongo.Client {
	t.Helper()
	sharedOnce.Do(func() {
		sharedClient, sharedErr = mongo.Connect(options.Client().ApplyURI(mongoURL).SetServerSelectionTimeout(5 * time.Second))
		if sharedErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sharedErr = sharedClient.Ping(ctx, readpref.Primary())
		}
	})
	if sharedErr != nil {
		testenv.Unavailable(t, "MongoDB at "+mongoURL+" (.ci/mongo start runs FerretDB there)", sharedErr)
	}
	return sharedClient
}

// collection returns a collection of c no other test uses, dropped when the test
// ends. The collections share one database: FerretDB creates a SQLite file per
// database, under a lock that every other command waits for.
func collection(t testing.TB, c *mongo.Client) *mongo.Collection {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	coll := c.Database(testDB).Collection("sessions_" + hex.EncodeToString(b[:]))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := coll.Drop(ctx); err != nil {
			t.Errorf("dropping %s: %v", coll.Name(), err)
		}
	})
	return coll
}

// mustNew returns mongostore.New(coll, opts), which must succeed, closed when the
// test ends.
func mustNew(t testing.TB, coll *mongo.Collection, opts mongostore.Options) *mongostore.Store {
	t.Helper()
	s, err := mongostore.New(coll, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore returns a Store with opts on a collection of its own, and the collection.
// It does not call Setup (the indexes change no result, and FerretDB serialises the
// commands that make them with every other): TestSetup does.
func newStore(t testing.TB, opts mongostore.Options) (*mongostore.Store, *mongo.Collection) {
	t.Helper()
	coll := collection(t, client(t))
	return mustNew(t, coll, opts), coll
}

var (
	serverOnce sync.Once
	server     mongostore.Setup
	serverErr  error
)

// serverSetup returns what Setup finds on the test server.
func serverSetup(t testing.TB) mongostore.Setup {
	t.Helper()
	c := client(t)
	serverOnce.Do(func() {
		coll := c.Database(testDB).Collection("probe_" + rand.Text()[:8])
		defer coll.Drop(context.Background())
		s, err := mongostore.New(coll, mongostore.Options{})
		if err != nil {
			serverErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		server, serverErr = s.Setup(ctx)
	})
	if serverErr != nil {
		t.Fatalf("Setup on the test server: %v", serverErr)
	}
	return server
}

// writeModes are the modes the suites run in on the test server: both where in-place
// writes are atomic (MongoDB), claimed only where they are not (FerretDB).
func writeModes(t testing.TB) []mongostore.WriteMode {
	t.Helper()
	if serverSetup(t).Writes == mongostore.WriteClaimed {
		t.Logf("%s: its conditional updates are not atomic (tools/ferretdb/README.md), so the concurrent suites run in claimed mode only; TestKVBehaviour checks in-place writes one at a time", serverSetup(t).Server)
		return []mongostore.WriteMode{mongostore.WriteClaimed}
	}
	return []mongostore.WriteMode{mongostore.WriteInPlace, mongostore.WriteClaimed}
}

// key returns a fresh KV key.
func key() string { return storetest.NewKey() }

// record returns a live record as the Manager makes them (whole milliseconds).
func record(data string, version uint64, ttl time.Duration) store.Record {
	now := time.UnixMilli(time.Now().UnixMilli())
	return store.Record{
		Data:    []byte(data),
		Expiry:  now.Add(ttl),
		Created: now,
		Active:  now,
		Version: version,
	}
}

// sameRecord reports whether a and b hold the same fields.
func sameRecord(a, b store.Record) bool { return storetest.Diff(a, b) == "" }

// count returns the number of documents of coll that match filter.
func count(t testing.TB, coll *mongo.Collection, filter bson.D) int64 {
	t.Helper()
	if filter == nil {
		filter = bson.D{}
	}
	n, err := coll.CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatalf("counting documents of %s: %v", coll.Name(), err)
	}
	return n
}

// claims is the filter of the claims in a collection.
var claims = bson.D{{Key: "claim", Value: bson.D{{Key: "$exists", Value: true}}}}
