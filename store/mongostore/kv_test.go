package mongostore_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/mongostore"
)

// bothModes are the write modes whose one-at-a-time behaviour every server supports.
var bothModes = []mongostore.WriteMode{mongostore.WriteInPlace, mongostore.WriteClaimed}

// TestKVBehaviour checks the KV contract operation by operation, one at a time, in
// both write modes (in place too on FerretDB, where only concurrent in-place writes go
// wrong), including the edges of the Record: nil Data, zero Created and Active, the
// largest Version, an Owner.
func TestKVBehaviour(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mode})
			checkKV(t, s.KV)
			if n := count(t, coll, claims); n != 0 {
				t.Errorf("%d claims left after writes that all finished", n)
			}
		})
	}
}

func checkKV(t *testing.T, kv store.KV) {
	ctx := t.Context()
	k := key()

	if _, found, err := kv.Get(ctx, k); found || err != nil {
		t.Fatalf("Get(missing) = found %v, err %v; want not found, nil", found, err)
	}
	rec := record(`{"n":1}`, 1, time.Hour)
	rec.Owner, rec.RememberMe = "user:42", true
	if err := kv.Create(ctx, k, rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, found, err := kv.Get(ctx, k)
	if err != nil || !found || !sameRecord(got, rec) {
		t.Fatalf("Get after Create = %+v, %v, %v; want %+v", got, found, err, rec)
	}

	// Create never overwrites a live record.
	if err := kv.Create(ctx, k, record("other", 9, time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Create over a live record: err = %v, want ErrConflict", err)
	}

	// Update with a stale version changes nothing.
	next := record(`{"n":2}`, 2, 2*time.Hour)
	if err := kv.Update(ctx, k, 7, next); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Update(stale version) err = %v, want ErrConflict", err)
	}
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, rec) {
		t.Errorf("after a stale Update, Get = %+v, want %+v", got, rec)
	}
	// Update with the version read replaces every field (the owner goes too).
	if err := kv.Update(ctx, k, 1, next); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, next) {
		t.Errorf("after Update, Get = %+v, want %+v", got, next)
	}

	// Touch moves the last activity and the expiry only; a zero activity removes it.
	exp, active := next.Expiry.Add(time.Hour), next.Created.Add(time.Second)
	if err := kv.Touch(ctx, k, active, exp); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	want := next
	want.Active, want.Expiry = active, exp
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, want) {
		t.Errorf("after Touch, Get = %+v, want %+v", got, want)
	}
	if err := kv.Touch(ctx, k, time.Time{}, exp); err != nil {
		t.Fatalf("Touch with a zero active: %v", err)
	}
	want.Active = time.Time{}
	if got, _, _ := kv.Get(ctx, k); !sameRecord(got, want) || !got.Active.IsZero() {
		t.Errorf("after a Touch with a zero active, Get = %+v, want %+v", got, want)
	}

	// Delete, twice; then nothing brings it back.
	for range 2 {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := kv.Update(ctx, k, 2, next); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Update after Delete err = %v, want ErrConflict", err)
	}
	if err := kv.Touch(ctx, k, active, exp); err != nil {
		t.Errorf("Touch after Delete: %v", err)
	}
	if _, found, err := kv.Get(ctx, k); found || err != nil {
		t.Errorf("Get after Delete = found %v, err %v; want not found", found, err)
	}

	// Edges of the record: nil Data, zero Created and Active, the largest Version.
	k2 := key()
	edge := store.Record{Expiry: time.UnixMilli(time.Now().Add(time.Hour).UnixMilli()), Version: math.MaxUint64}
	if err := kv.Create(ctx, k2, edge); err != nil {
		t.Fatalf("Create(edge record): %v", err)
	}
	got, found, err = kv.Get(ctx, k2)
	if err != nil || !found || !sameRecord(got, edge) || !got.Created.IsZero() || !got.Active.IsZero() {
		t.Errorf("Get(edge record) = %+v, %v, %v; want %+v", got, found, err, edge)
	}
	if err := kv.Update(ctx, k2, math.MaxUint64, record("x", 0, time.Hour)); err != nil {
		t.Errorf("Update from the largest Version: %v", err)
	}
}

// TestDocument checks the layout of a session document that the package
// documentation describes: what a user sees in mongosh.
func TestDocument(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{})
	ctx := t.Context()
	k := key()
	rec := record("{}", math.MaxUint64, time.Hour)
	rec.Owner, rec.RememberMe, rec.Ended = "alice", true, store.Destroyed
	if err := s.KV.Create(ctx, k, rec); err != nil {
		t.Fatal(err)
	}
	bare := key()
	if err := s.KV.Create(ctx, bare, store.Record{Expiry: rec.Expiry}); err != nil {
		t.Fatal(err)
	}

	raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: bson.Binary{Data: []byte(k)}}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		field string
		typ   bson.Type
		value any // compared with the decoded value
	}{
		{"_id", bson.TypeBinary, bson.Binary{Subtype: 0, Data: []byte(k)}},
		{"data", bson.TypeBinary, bson.Binary{Subtype: 0, Data: []byte("{}")}},
		{"expiry", bson.TypeDateTime, bson.NewDateTimeFromTime(rec.Expiry)},
		{"created", bson.TypeDateTime, bson.NewDateTimeFromTime(rec.Created)},
		{"active", bson.TypeDateTime, bson.NewDateTimeFromTime(rec.Active)},
		{"version", bson.TypeInt64, int64(-1)}, // math.MaxUint64, bit for bit
		{"owner", bson.TypeString, "alice"},
		{"rememberMe", bson.TypeBoolean, true},
		{"ended", bson.TypeInt32, int32(2)},
	}
	elems, err := raw.Elements()
	if err != nil {
		t.Fatal(err)
	}
	if len(elems) != len(want) {
		t.Errorf("document has %d fields, want %d: %v", len(elems), len(want), raw)
	}
	for i, w := range want {
		v, err := raw.LookupErr(w.field)
		if err != nil {
			t.Errorf("field %q missing: %v", w.field, raw)
			continue
		}
		if v.Type != w.typ {
			t.Errorf("field %q has type %v, want %v", w.field, v.Type, w.typ)
			continue
		}
		var got any
		switch w.typ {
		case bson.TypeBinary:
			st, data := v.Binary()
			got = bson.Binary{Subtype: st, Data: data}
		case bson.TypeDateTime:
			got = bson.DateTime(v.DateTime())
		case bson.TypeInt64:
			got = v.Int64()
		case bson.TypeString:
			got = v.StringValue()
		case bson.TypeBoolean:
			got = v.Boolean()
		case bson.TypeInt32:
			got = v.Int32()
		}
		if b, ok := w.value.(bson.Binary); ok {
			if gb := got.(bson.Binary); gb.Subtype != b.Subtype || string(gb.Data) != string(b.Data) {
				t.Errorf("field %q = %v, want %v", w.field, got, w.value)
			}
		} else if got != w.value {
			t.Errorf("field %q = %v, want %v", w.field, got, w.value)
		}
		if i < len(elems) && elems[i].Key() != w.field {
			t.Errorf("field %d is %q, want %q", i, elems[i].Key(), w.field)
		}
	}

	// Without an owner nor an activity, those fields are absent (the partial owner
	// index holds only documents with an owner); nil data is an empty binary.
	raw, err = coll.FindOne(ctx, bson.D{{Key: "_id", Value: bson.Binary{Data: []byte(bare)}}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"owner", "active"} {
		if _, err := raw.LookupErr(f); err == nil {
			t.Errorf("a record without %s has the field: %v", f, raw)
		}
	}
	if st, data, ok := raw.Lookup("data").BinaryOK(); !ok || st != 0 || len(data) != 0 {
		t.Errorf("nil Data stored as %v, want an empty binary", raw.Lookup("data"))
	}
}

// TestMalformed checks that a document this package did not write at a session's key
// is an error, not a session nor not found.
func TestMalformed(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{})
	k := key()
	_, err := coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: bson.Binary{Data: []byte(k)}},
		{Key: "expiry", Value: time.Now().Add(time.Hour)},
		{Key: "version", Value: "one"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, found, err := s.KV.Get(t.Context(), k)
	if err == nil || found || !strings.HasPrefix(err.Error(), "mongostore: ") {
		t.Errorf("Get of a malformed document = found %v, err %v; want a mongostore: error", found, err)
	}
}

// TestExpired checks that an expired document, still in the collection, is never
// returned, updated or touched, and that Create replaces it, in both write modes.
func TestExpired(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mode})
			kv, ctx := s.KV, t.Context()
			k := key()
			old := record("old", 5, -time.Second) // expired a second ago, no cleanup ran
			old.Owner = "alice"
			if err := kv.Create(ctx, k, old); err != nil {
				t.Fatal(err)
			}
			if n := count(t, coll, nil); n != 1 {
				t.Fatalf("documents = %d, want the expired one kept", n)
			}
			if _, found, err := kv.Get(ctx, k); found || err != nil {
				t.Errorf("Get(expired) = found %v, err %v; want not found", found, err)
			}
			if err := kv.Update(ctx, k, 5, record("new", 6, time.Hour)); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Update(expired) err = %v, want ErrConflict", err)
			}
			if err := kv.Touch(ctx, k, time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Errorf("Touch(expired): %v", err)
			}
			if _, found, _ := kv.Get(ctx, k); found {
				t.Error("Touch brought an expired record back")
			}
			if owned, err := kv.(store.OwnerKV).Owned(ctx, "alice"); err != nil || len(owned) != 0 {
				t.Errorf("Owned(alice) with her only record expired = %v, %v; want none", owned, err)
			}
			fresh := record("fresh", 1, time.Hour) // no owner: the old one must go
			if err := kv.Create(ctx, k, fresh); err != nil {
				t.Fatalf("Create over an expired document: %v", err)
			}
			if got, found, _ := kv.Get(ctx, k); !found || !sameRecord(got, fresh) {
				t.Errorf("Get after Create over an expired document = %+v, %v; want %+v", got, found, fresh)
			}
			if n := count(t, coll, nil); n != 1 {
				t.Errorf("documents = %d after Create over an expired one, want 1", n)
			}
		})
	}
}

// TestCancelled checks that a cancelled context makes each operation fail, never
// succeed halfway nor report not found, in both write modes: the record is as it was,
// and no claim is left.
func TestCancelled(t *testing.T) {
	t.Parallel()
	for _, mode := range bothModes {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			s, coll := newStore(t, mongostore.Options{Writes: mode})
			kv := s.KV
			k := key()
			rec := record("before", 1, time.Hour)
			if err := kv.Create(t.Context(), k, rec); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := kv.Update(ctx, k, 1, record("after", 2, time.Hour)); err == nil || errors.Is(err, store.ErrConflict) {
				t.Errorf("Update with a cancelled context: err = %v, want the cancellation", err)
			}
			if err := kv.Touch(ctx, k, time.Now(), time.Now().Add(2*time.Hour)); err == nil {
				t.Error("Touch with a cancelled context succeeded")
			}
			if err := kv.Create(ctx, key(), rec); err == nil || errors.Is(err, store.ErrConflict) {
				t.Errorf("Create with a cancelled context: err = %v, want the cancellation", err)
			}
			if _, found, err := kv.Get(ctx, k); err == nil || found {
				t.Errorf("Get with a cancelled context = found %v, err %v; want an error", found, err)
			}
			if got, found, err := kv.Get(t.Context(), k); err != nil || !found || !sameRecord(got, rec) {
				t.Errorf("after cancelled writes, Get = %+v, %v, %v; want %+v unchanged", got, found, err, rec)
			}
			if n := count(t, coll, nil); n != 1 {
				t.Errorf("%d documents after cancelled writes, want the one record and no claim", n)
			}
		})
	}
}

// TestCancelledMidway cancels a claimed Update after its claim, before its write: the
// Update fails, the record is as it was, and the claim stays until its writer's
// deadline plus the margin (the write might still be on its way), after which the
// next Update breaks it.
func TestCancelledMidway(t *testing.T) {
	t.Parallel()
	s, coll := newStore(t, mongostore.Options{Writes: mongostore.WriteClaimed})
	kv := s.KV
	k := key()
	rec := record("before", 1, time.Hour)
	if err := kv.Create(t.Context(), k, rec); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	mongostore.SetHook(s, func(point string) {
		if point == "claimed" {
			cancel()
		}
	})
	start := time.Now()
	err := kv.Update(ctx, k, 1, record("after", 2, time.Hour))
	mongostore.SetHook(s, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update cancelled after its claim: err = %v, want context.Canceled", err)
	}
	if got, _, err := kv.Get(t.Context(), k); err != nil || !sameRecord(got, rec) {
		t.Fatalf("after the cancelled Update, Get = %+v, %v; want %+v", got, err, rec)
	}

	// The claim stays, until the writer's deadline (maxHold, as its context's was
	// later) plus the margin.
	var c struct {
		Until time.Time `bson:"until"`
	}
	if err := coll.FindOne(t.Context(), claims).Decode(&c); err != nil {
		t.Fatalf("the claim of the cancelled Update: %v", err)
	}
	if lo, hi := start.Add(mongostore.MaxHold+mongostore.ClaimMargin-time.Second), time.Now().Add(mongostore.MaxHold+mongostore.ClaimMargin); c.Until.Before(lo) || c.Until.After(hi) {
		t.Errorf("the claim holds until %v, want between %v and %v", c.Until, lo, hi)
	}
	if err := kv.Update(t.Context(), k, 1, record("blocked", 2, time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Update while the claim holds: err = %v, want ErrConflict", err)
	}

	// Once it has passed (moved back here, rather than waited for), it is broken.
	if _, err := coll.UpdateMany(t.Context(), claims, bson.D{{Key: "$set", Value: bson.D{{Key: "until", Value: time.Now().Add(-time.Second)}}}}); err != nil {
		t.Fatal(err)
	}
	next := record("after", 2, time.Hour)
	if err := kv.Update(t.Context(), k, 1, next); err != nil {
		t.Fatalf("Update after the claim expired: %v", err)
	}
	if got, _, err := kv.Get(t.Context(), k); err != nil || !sameRecord(got, next) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, next)
	}
}

// TestNew checks New's validation: a nil collection panics, invalid options are
// errors that say so.
func TestNew(t *testing.T) {
	t.Parallel()
	coll := client(t).Database(testDB).Collection("never_used")
	for _, tc := range []struct {
		name string
		opts mongostore.Options
	}{
		{"negative BatchSize", mongostore.Options{BatchSize: -1}},
		{"unknown WriteMode", mongostore.Options{Writes: 7}},
		{"negative WriteMode", mongostore.Options{Writes: -1}},
	} {
		if _, err := mongostore.New(coll, tc.opts); err == nil || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("New with a %s: err = %v, want a mongostore: error", tc.name, err)
		}
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(r.(string), "mongostore: ") {
				t.Errorf("New(nil) recovered %v, want a mongostore: panic", r)
			}
		}()
		mongostore.New(nil, mongostore.Options{})
	}()
}

// TestErrorsAreNotNotFound checks that a server out of reach is an error, never not
// found nor a conflict.
func TestErrorsAreNotNotFound(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr + "/?directConnection=true").
		SetServerSelectionTimeout(200 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	for _, mode := range []mongostore.WriteMode{mongostore.WriteAuto, mongostore.WriteInPlace, mongostore.WriteClaimed} {
		t.Run("writes="+mode.String(), func(t *testing.T) {
			t.Parallel()
			checkDown(t, mustNew(t, c.Database(testDB).Collection("sessions"), mongostore.Options{Writes: mode}))
		})
	}
}

// checkDown checks that every operation of s, whose server is out of reach, is an
// error.
func checkDown(t *testing.T, s *mongostore.Store) {
	kv := s.KV.(store.OwnerKV)
	ctx := t.Context()
	_, found, err := kv.Get(ctx, key())
	if err == nil || found || !strings.HasPrefix(err.Error(), "mongostore: ") {
		t.Errorf("Get with the server down = found %v, err %v; want a mongostore: error", found, err)
	}
	for name, err := range map[string]error{
		"Create": kv.Create(ctx, key(), record("x", 1, time.Hour)),
		"Update": kv.Update(ctx, key(), 1, record("x", 2, time.Hour)),
		"Touch":  kv.Touch(ctx, key(), time.Now(), time.Now().Add(time.Hour)),
		"Delete": kv.Delete(ctx, key()),
	} {
		if err == nil || errors.Is(err, store.ErrConflict) || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("%s with the server down: err = %v, want a mongostore: error that is not ErrConflict", name, err)
		}
	}
	if _, err := kv.Owned(ctx, "alice"); err == nil {
		t.Errorf("Owned with the server down succeeded")
	}
	if _, err := kv.DeleteOwned(ctx, "alice", ""); err == nil {
		t.Errorf("DeleteOwned with the server down succeeded")
	}
	if _, err := s.Setup(ctx); err == nil {
		t.Errorf("Setup with the server down succeeded")
	}
	if _, err := s.DeleteExpired(ctx); err == nil {
		t.Errorf("DeleteExpired with the server down succeeded")
	}
}
