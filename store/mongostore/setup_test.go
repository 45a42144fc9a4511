package mongostore_test

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/seed96b21533/typedsession/store/mongostore"
)

// TestSetup checks what Setup creates and reports, on the test server: on MongoDB a
// TTL index on expiry and a partial index on owner, in-place writes; on FerretDB,
// which implements neither option, the plain indexes instead, each refusal reported,
// claimed writes, and NeedsCleanup. It is idempotent, also when instances run it at
// once.
func TestSetup(t *testing.T) {
	t.Parallel()
	coll := collection(t, client(t))
	s := mustNew(t, coll, mongostore.Options{})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		reports []mongostore.Setup
	)
	for range 3 {
		wg.Go(func() {
			r, err := s.Setup(t.Context())
			if err != nil {
				t.Errorf("Setup: %v", err)
				return
			}
			mu.Lock()
			reports = append(reports, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	r, err := s.Setup(t.Context()) // once more, after the others
	if err != nil {
		t.Fatalf("Setup again: %v", err)
	}
	for _, o := range reports {
		if o.Server != r.Server || o.Writes != r.Writes || o.TTL != r.TTL || o.PartialOwner != r.PartialOwner {
			t.Errorf("Setup reports differ between runs: %+v and %+v", o, r)
		}
	}
	t.Logf("Setup on %s: %+v", mongoURL, r)

	ferret := strings.HasPrefix(r.Server, "FerretDB ")
	if !ferret && !strings.HasPrefix(r.Server, "MongoDB ") {
		t.Errorf("Server = %q, want FerretDB … or MongoDB …", r.Server)
	}
	wantWrites := mongostore.WriteInPlace
	if ferret {
		wantWrites = mongostore.WriteClaimed
	}
	if r.Writes != wantWrites || r.TTL == ferret || r.PartialOwner == ferret || r.NeedsCleanup() != ferret {
		t.Errorf("Setup on %s = %+v, NeedsCleanup %v; want Writes %v, TTL and PartialOwner %v, NeedsCleanup %v",
			r.Server, r, r.NeedsCleanup(), wantWrites, !ferret, ferret)
	}
	if ferret {
		if len(r.Unsupported) != 2 || !strings.Contains(r.Unsupported[0], "expireAfterSeconds") ||
			!strings.Contains(r.Unsupported[1], "partialFilterExpression") {
			t.Errorf("Unsupported = %q, want the TTL and the partial index refused", r.Unsupported)
		}
	} else if len(r.Unsupported) != 0 {
		t.Errorf("Unsupported = %q on MongoDB, want none", r.Unsupported)
	}

	cur, err := coll.Indexes().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name               string   `bson:"name"`
		Key                bson.D   `bson:"key"`
		ExpireAfterSeconds *int32   `bson:"expireAfterSeconds"`
		Partial            bson.Raw `bson:"partialFilterExpression"`
	}
	if err := cur.All(t.Context(), &specs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range specs {
		names = append(names, sp.Name)
		switch sp.Name {
		case mongostore.ExpiryIndex:
			if len(sp.Key) != 1 || sp.Key[0].Key != "expiry" || (sp.ExpireAfterSeconds != nil) != r.TTL ||
				(sp.ExpireAfterSeconds != nil && *sp.ExpireAfterSeconds != 0) {
				t.Errorf("index %s = %+v, want on expiry, TTL %v with expireAfterSeconds 0", sp.Name, sp, r.TTL)
			}
		case mongostore.OwnerIndex:
			if len(sp.Key) != 1 || sp.Key[0].Key != "owner" || (sp.Partial != nil) != r.PartialOwner {
				t.Errorf("index %s = %+v, want on owner, partial %v", sp.Name, sp, r.PartialOwner)
			}
		}
	}
	slices.Sort(names)
	if want := []string{"_id_", mongostore.ExpiryIndex, mongostore.OwnerIndex}; !slices.Equal(names, want) {
		t.Errorf("indexes %q, want %q", names, want)
	}
}

// TestSetupWrites checks that Options.Writes is what Setup reports when it is set,
// and that WriteAuto is settled at the first write without Setup too.
func TestSetupWrites(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		s := mustNew(t, collection(t, client(t)), mongostore.Options{Writes: mode})
		if r, err := s.Setup(t.Context()); err != nil || r.Writes != mode {
			t.Errorf("Setup with Writes %v = %+v, %v; want Writes %v", mode, r, err, mode)
		}
	}

	// Without Setup: the first write asks the server.
	s := mustNew(t, collection(t, client(t)), mongostore.Options{})
	var claimed atomic.Bool
	mongostore.SetHook(s, func(string) { claimed.Store(true) })
	k := key()
	if err := s.KV.Create(t.Context(), k, record("x", 1, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.KV.Update(t.Context(), k, 1, record("y", 2, time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := serverSetup(t)
	if claimed.Load() != (want.Writes == mongostore.WriteClaimed) {
		t.Errorf("without Setup, the Update took a claim: %v; want %v on %s", claimed.Load(), !claimed.Load(), want.Server)
	}
	if r, err := s.Setup(t.Context()); err != nil || r.Writes != want.Writes {
		t.Errorf("Setup after the first writes = %+v, %v; want Writes %v", r, err, want.Writes)
	}
}

// TestWriteModeString checks the names of the write modes.
func TestWriteModeString(t *testing.T) {
	for m, want := range map[mongostore.WriteMode]string{
		mongostore.WriteAuto: "auto", mongostore.WriteInPlace: "in-place", mongostore.WriteClaimed: "claimed", 9: "WriteMode(9)",
	} {
		if got := m.String(); got != want {
			t.Errorf("WriteMode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}
