package cookiestore_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/bench/workload"
	"github.com/seed96b21533/typedsession/store"

	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

// Item and Profile are the canonical payload of the benchmark workload.
type (
	Item    = workload.Item
	Profile = workload.Profile
)

func canonicalProfile() Profile { return workload.Canonical() }

func canonicalJSON(tb testing.TB) []byte {
	tb.Helper()
	b, err := json.Marshal(canonicalProfile())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// t0 is the fixed "now" of the tests.
var t0 = time.UnixMilli(1_750_000_000_000)

func newKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, cookiestore.KeySize)
	rand.Read(k)
	return k
}

// fixedKey returns a reproducible key, different for each b.
func fixedKey(b byte) []byte { return bytes.Repeat([]byte{b}, cookiestore.KeySize) }

// newStore returns a store over keys whose clock reads *now.
func newStore(tb testing.TB, now *time.Time, opts cookiestore.Options) *cookiestore.Store {
	tb.Helper()
	if now != nil {
		opts.Now = func() time.Time { return *now }
	}
	s, err := cookiestore.New(opts)
	if err != nil {
		tb.Fatalf("New() error = %v", err)
	}
	return s
}

// named returns s bound to the cookie name.
func named(tb testing.TB, s *cookiestore.Store, name string) *cookiestore.Store {
	tb.Helper()
	b, err := s.WithName(name)
	if err != nil {
		tb.Fatalf("WithName(%q) error = %v", name, err)
	}
	return b.(*cookiestore.Store)
}

func sampleRecord() store.Record {
	return store.Record{
		Data:       []byte(`{"UserID":42,"Name":"Napoleon"}`),
		Expiry:     t0.Add(time.Hour),
		Created:    t0.Add(-time.Minute),
		Version:    7,
		Owner:      "user-42",
		RememberMe: true,
	}
}

func mustSave(tb testing.TB, s *cookiestore.Store, rec store.Record) string {
	tb.Helper()
	tok, err := s.Save(tb.Context(), "", 0, rec)
	if err != nil {
		tb.Fatalf("Save() error = %v", err)
	}
	return tok
}

func sameRecord(a, b store.Record) bool { return storetest.Diff(a, b) == "" }
