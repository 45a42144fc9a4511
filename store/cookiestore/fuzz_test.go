package cookiestore_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

// fuzzStores returns stores with fixed keys and reproducible nonces, and the values they
// sealed (and firstReleaseCookie), so that every fuzz worker process builds the same seeds: sealer1 seals with
// key 1, sealer2 with key 2, and opener holds both.
func fuzzStores(tb testing.TB) (opener *cookiestore.Store, seeds []string) {
	tb.Helper()
	now := func() time.Time { return t0 }
	var counter uint64
	nonce := func(b []byte) {
		counter++
		clear(b)
		binary.BigEndian.PutUint64(b[4:], counter)
	}
	k1, k2 := fixedKey(1), fixedKey(2)
	sealer1, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{k1}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	sealer2, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{k2}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	opener, err = cookiestore.New(cookiestore.Options{Keys: [][]byte{k2, k1}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	cookiestore.SetNonce(sealer1, nonce)
	cookiestore.SetNonce(sealer2, nonce)
	recs := []store.Record{
		sampleRecord(),
		{Data: []byte{}, Expiry: t0.Add(time.Second), Created: t0},
		{Data: canonicalJSON(tb), Expiry: t0.Add(time.Hour), Created: t0, Version: 1},
		{Data: []byte("expired"), Expiry: t0, Created: t0.Add(-time.Hour)}, // sealed, but not accepted
	}
	for _, s := range []*cookiestore.Store{sealer1, sealer2} {
		for _, rec := range recs {
			tok, err := s.Save(tb.Context(), "", 0, rec)
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, tok)
		}
	}
	// And one that the first release sealed with key 1: a format-1 record inside.
	seeds = append(seeds, firstReleaseCookie)
	return opener, seeds
}

// FuzzLoad feeds Load arbitrary cookie values: it must never panic, never return an
// error, and never accept a value that is not exactly one the store sealed. Run it with
//
//	go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 30s ./store/cookiestore
func FuzzLoad(f *testing.F) {
	opener, seeds := fuzzStores(f)
	sealed := make(map[string]bool, len(seeds))
	for _, s := range seeds {
		sealed[s] = true
		f.Add(s)
	}
	f.Add("")
	f.Add("AQAAAAA")
	f.Fuzz(func(t *testing.T, value string) {
		rec, found, err := opener.Load(t.Context(), value)
		if err != nil {
			t.Fatalf("Load() error = %v; a bad value is not found, never an error", err)
		}
		if found && !sealed[value] {
			t.Fatalf("Load(%q) accepted a value the store never sealed: %+v", value, rec)
		}
		if !found && !sameRecord(rec, store.Record{}) {
			t.Fatalf("Load() = %+v, false; want the zero Record when not found", rec)
		}
	})
}

// TestFuzzSeedsOpen keeps FuzzLoad honest: its seeds (all but the expired ones) do open,
// so the fuzzer starts from values that are accepted.
func TestFuzzSeedsOpen(t *testing.T) {
	opener, seeds := fuzzStores(t)
	found := 0
	for _, s := range seeds {
		if _, ok, _ := opener.Load(t.Context(), s); ok {
			found++
		}
	}
	if want := len(seeds) - 2; found != want {
		t.Errorf("%d of %d fuzz seeds open, want %d (all but the two expired)", found, len(seeds), want)
	}
}
