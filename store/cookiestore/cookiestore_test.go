package cookiestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

func TestNew(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t), newKey(t)
	tests := []struct {
		name    string
		opts    cookiestore.Options
		wantErr string // "" for success
	}{
		{"one key", cookiestore.Options{Keys: [][]byte{k1}}, ""},
		{"two keys", cookiestore.Options{Keys: [][]byte{k1, k2}}, ""},
		{"custom attributes", cookiestore.Options{Keys: [][]byte{k1}, AttributeBytes: 400}, ""},
		{"no keys", cookiestore.Options{}, "empty"},
		{"empty ring", cookiestore.Options{Keys: [][]byte{}}, "empty"},
		{"short key", cookiestore.Options{Keys: [][]byte{k1[:31]}}, "31 bytes"},
		{"long key", cookiestore.Options{Keys: [][]byte{append(k1, 0)}}, "33 bytes"},
		{"nil key", cookiestore.Options{Keys: [][]byte{k1, nil}}, "Keys[1] is 0 bytes"},
		{"zero key", cookiestore.Options{Keys: [][]byte{make([]byte, 32)}}, "all zero"},
		{"duplicate", cookiestore.Options{Keys: [][]byte{k1, k2, bytes.Clone(k1)}}, "Keys[2] repeats Options.Keys[0]"},
		{"negative attributes", cookiestore.Options{Keys: [][]byte{k1}, AttributeBytes: -1}, "AttributeBytes"},
		{"no room", cookiestore.Options{Keys: [][]byte{k1}, AttributeBytes: 4010}, "no room"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := cookiestore.New(tc.opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New() error = %v, want nil", err)
			case tc.wantErr == "" && s == nil:
				t.Fatal("New() = nil, nil")
			case tc.wantErr != "" && err == nil:
				t.Fatalf("New() error = nil, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("New() error = %q, want one containing %q", err, tc.wantErr)
			case tc.wantErr != "" && !strings.HasPrefix(err.Error(), "cookiestore: "):
				t.Fatalf("New() error = %q, want the cookiestore: prefix", err)
			}
		})
	}
}

func TestNewCopiesKeys(t *testing.T) {
	t.Parallel()
	now := t0
	k := newKey(t)
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{k}})
	tok := mustSave(t, s, sampleRecord())
	clear(k) // the caller reuses its buffer
	if _, found, _ := s.Load(t.Context(), tok); !found {
		t.Fatal("Load() found = false after the caller cleared its key slice; New must not keep it")
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	full := sampleRecord()
	tests := []struct {
		name string
		rec  store.Record
	}{
		{"full", full},
		{"empty data", store.Record{Data: []byte{}, Expiry: t0.Add(time.Second), Created: t0}},
		{"no owner, not persistent", store.Record{Data: []byte("x"), Expiry: t0.Add(time.Second), Created: t0, Version: 1}},
		{"long owner", store.Record{Data: []byte("x"), Expiry: t0.Add(time.Second), Created: t0, Owner: strings.Repeat("o", 300)}},
		{"binary data", store.Record{Data: []byte{0, 1, 2, 255, 254}, Expiry: t0.Add(time.Second), Created: t0}},
		{"largest data", store.Record{Data: bytes.Repeat([]byte("d"), s.MaxData(0)), Expiry: t0.Add(time.Second), Created: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mustSave(t, s, tc.rec)
			got, found, err := s.Load(t.Context(), tok)
			if err != nil || !found {
				t.Fatalf("Load() = _, %v, %v; want found", found, err)
			}
			if !sameRecord(got, tc.rec) {
				t.Fatalf("Load() = %+v, want %+v", got, tc.rec)
			}
			// Each seal draws a fresh nonce: the same record never seals to the same value.
			if tok2 := mustSave(t, s, tc.rec); tok2 == tok {
				t.Fatalf("two Saves of one record gave the same value %q", tok)
			}
		})
	}
}

func TestLoadDataIsPrivate(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	tok := mustSave(t, s, sampleRecord())
	a, _, _ := s.Load(t.Context(), tok)
	clear(a.Data)
	// A second Load and a Save in between (which reuses pooled buffers) must not see it.
	mustSave(t, s, sampleRecord())
	b, found, _ := s.Load(t.Context(), tok)
	if !found || !bytes.Equal(b.Data, sampleRecord().Data) {
		t.Fatalf("Load() after the caller changed an earlier Data = %q, %v; want %q", b.Data, found, sampleRecord().Data)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	rec := sampleRecord()
	tok := mustSave(t, s, rec)
	tests := []struct {
		at    time.Time
		found bool
	}{
		{t0, true},
		{rec.Expiry.Add(-time.Millisecond), true},
		{rec.Expiry, false}, // "never return a record at or after its Expiry"
		{rec.Expiry.Add(time.Millisecond), false},
		{rec.Expiry.Add(365 * 24 * time.Hour), false},
	}
	for _, tc := range tests {
		now = tc.at
		if _, found, err := s.Load(t.Context(), tok); found != tc.found || err != nil {
			t.Errorf("Load() at Expiry%+v = %v, %v; want %v, nil", tc.at.Sub(rec.Expiry), found, err, tc.found)
		}
	}
}

func TestTouch(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	rec := sampleRecord()
	old := mustSave(t, s, rec)
	rec.Expiry = rec.Expiry.Add(time.Hour)
	tok, err := s.Touch(t.Context(), old, rec)
	if err != nil {
		t.Fatalf("Touch() error = %v", err)
	}
	if tok == old {
		t.Fatal("Touch() returned the old value; the expiry lives in the seal, so it must re-seal")
	}
	now = rec.Expiry.Add(-30 * time.Minute) // past the old expiry, before the new one
	if _, found, _ := s.Load(t.Context(), old); found {
		t.Error("Load(old value) after its sealed expiry: found; want not found")
	}
	got, found, _ := s.Load(t.Context(), tok)
	if !found || !sameRecord(got, rec) {
		t.Errorf("Load(touched value) = %+v, %v; want %+v, true", got, found, rec)
	}
}

func TestSaveWithoutExpiry(t *testing.T) {
	t.Parallel()
	s := newStore(t, nil, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	rec := sampleRecord()
	rec.Expiry = time.Time{}
	if tok, err := s.Save(t.Context(), "", 0, rec); err == nil {
		t.Fatalf("Save(record without Expiry) = %q, nil; want an error (a sealed cookie must expire)", tok)
	}
}

func TestSaveIgnoresVersion(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	rec := sampleRecord()
	tok := mustSave(t, s, rec)
	// Last writer wins: a stale version and a stale token are not a conflict.
	rec.Version = 99
	tok2, err := s.Save(t.Context(), tok, 3, rec)
	if err != nil {
		t.Fatalf("Save(stale version) error = %v; a cookie store is last-writer-wins", err)
	}
	got, found, _ := s.Load(t.Context(), tok2)
	if !found || got.Version != 99 {
		t.Fatalf("Load() = %+v, %v; want Version 99", got, found)
	}
}

func TestEndUnsupported(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	tok := mustSave(t, s, sampleRecord())
	for _, why := range []store.EndReason{store.Renewed, store.Destroyed} {
		marker := store.Record{Expiry: now.Add(time.Minute), Version: 2, Ended: why}
		if got, err := s.Save(t.Context(), tok, 1, marker); !errors.Is(err, errors.ErrUnsupported) || got != "" {
			t.Errorf("Save(a %v marker) = %.10q, %v; want an error wrapping errors.ErrUnsupported", why, got, err)
		}
	}
	// There is no server state: the value still opens (documented).
	if _, found, _ := s.Load(t.Context(), tok); !found {
		t.Error("Load() after ending the session: not found; a cookie store cannot revoke, and the docs say so")
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	now := t0
	oldKey, newK := newKey(t), newKey(t)
	before := newStore(t, &now, cookiestore.Options{Keys: [][]byte{oldKey}})
	step1 := newStore(t, &now, cookiestore.Options{Keys: [][]byte{oldKey, newK}})
	step2 := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newK, oldKey}})
	after := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newK}})

	rec := sampleRecord()
	sealedOld := mustSave(t, before, rec)
	sealedStep1 := mustSave(t, step1, rec)

	// The key id names the key, not its place in the ring.
	if a, b := cookiestore.KeyIDs(step1), cookiestore.KeyIDs(step2); a[0] != b[1] || a[1] != b[0] {
		t.Errorf("key ids of [old, new] = %x and of [new, old] = %x; want the same ids swapped", a, b)
	}

	for _, tc := range []struct {
		name  string
		store *cookiestore.Store
		token string
		found bool
	}{
		{"old key opens in [old, new]", step1, sealedOld, true},
		{"old key opens in [new, old]", step2, sealedOld, true},
		{"[old, new] seals with old", before, sealedStep1, true},
		{"retired key rejected by [new]", after, sealedOld, false},
	} {
		got, found, err := tc.store.Load(t.Context(), tc.token)
		if err != nil || found != tc.found || (found && !sameRecord(got, rec)) {
			t.Errorf("%s: Load() = %+v, %v, %v; want found = %v", tc.name, got, found, err, tc.found)
		}
	}

	// The next write re-seals with the first key of the ring.
	got, _, _ := step2.Load(t.Context(), sealedOld)
	got.Version++
	resealed, err := step2.Save(t.Context(), sealedOld, got.Version-1, got)
	if err != nil {
		t.Fatalf("Save() error = %v", err)
	}
	if _, found, _ := after.Load(t.Context(), resealed); !found {
		t.Error("a value re-sealed by [new, old] does not open with [new]: the next write must seal with the first key")
	}
	if _, found, _ := before.Load(t.Context(), resealed); found {
		t.Error("a value re-sealed by [new, old] opens with [old]: it was sealed with the wrong key")
	}
	// So does the touch.
	got.Expiry = got.Expiry.Add(time.Minute)
	touched, err := step2.Touch(t.Context(), sealedOld, got)
	if err != nil {
		t.Fatalf("Touch() error = %v", err)
	}
	if _, found, _ := after.Load(t.Context(), touched); !found {
		t.Error("a value touched by [new, old] does not open with [new]")
	}
}

func TestCookieNameBound(t *testing.T) {
	t.Parallel()
	now := t0
	k := newKey(t)
	dflt := newStore(t, &now, cookiestore.Options{Keys: [][]byte{k}})
	a := named(t, dflt, "session")
	b := named(t, dflt, "admin")
	tok := mustSave(t, a, sampleRecord())
	if _, found, _ := b.Load(t.Context(), tok); found {
		t.Error(`a value sealed for cookie "session" opens as cookie "admin"`)
	}
	if _, found, _ := dflt.Load(t.Context(), tok); !found {
		t.Errorf("a value sealed for %q does not open with the default name", cookiestore.DefaultName)
	}
	if _, found, _ := dflt.Load(t.Context(), mustSave(t, b, sampleRecord())); found {
		t.Error(`a value sealed for "admin" opens with the default name`)
	}
	if _, err := dflt.WithName(strings.Repeat("n", 4000)); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Errorf("WithName(a 4000-byte name) error = %v, want one saying there is no room", err)
	}
}

// TestManagerBindsCookieName checks that the Manager hands its cookie name to the store:
// zero-value options work together, a Manager with another cookie name seals for that
// name, and a value moved from one cookie to the other does not open.
func TestManagerBindsCookieName(t *testing.T) {
	t.Parallel()
	st, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{newKey(t)}})
	if err != nil {
		t.Fatal(err)
	}
	type user struct{ Name string }
	serve := func(m *typedsession.Manager[user], cookie *http.Cookie, put bool) *httptest.ResponseRecorder {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if put {
				m.Put(r.Context(), user{Name: "Ada"})
				return
			}
			u, _ := m.Get(r.Context())
			io.WriteString(w, u.Name)
		}))
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for _, name := range []string{"", "sid", "__Host-app"} {
		m, err := typedsession.New[user](st, typedsession.Options{CookieName: name})
		if err != nil {
			t.Fatal(err)
		}
		c := serve(m, nil, true).Result().Cookies()[0]
		if got := serve(m, c, false).Body.String(); got != "Ada" {
			t.Errorf("CookieName %q: the Manager's own cookie gives %q, want Ada", name, got)
		}
		other, _ := typedsession.New[user](st, typedsession.Options{CookieName: "other"})
		moved := &http.Cookie{Name: "other", Value: c.Value}
		if got := serve(other, moved, false).Body.String(); got != "" {
			t.Errorf("CookieName %q: its value moved to the cookie \"other\" gives %q, want nothing", name, got)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := t0
	k := newKey(t)
	revokedAt := map[string]time.Time{"user-42": t0}
	var mu sync.Mutex
	errDB := errors.New("db down")
	fail := false
	s := newStore(t, &now, cookiestore.Options{
		Keys: [][]byte{k},
		Verify: func(ctx context.Context, rec store.Record) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if ctx == nil {
				return false, errors.New("no context")
			}
			if fail {
				return false, errDB
			}
			return rec.Created.After(revokedAt[rec.Owner]), nil
		},
	})
	oldRec := sampleRecord() // Created before t0: revoked
	newRec := sampleRecord()
	newRec.Created = t0.Add(time.Second)
	other := sampleRecord()
	other.Owner = "user-7"
	oldTok, newTok, otherTok := mustSave(t, s, oldRec), mustSave(t, s, newRec), mustSave(t, s, other)

	for _, tc := range []struct {
		name  string
		token string
		found bool
	}{
		{"created before valid-after", oldTok, false},
		{"created after valid-after", newTok, true},
		{"another owner", otherTok, true},
	} {
		if _, found, err := s.Load(t.Context(), tc.token); found != tc.found || err != nil {
			t.Errorf("%s: Load() = %v, %v; want %v, nil", tc.name, found, err, tc.found)
		}
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, found, err := s.Load(t.Context(), newTok); !errors.Is(err, errDB) || found {
		t.Errorf("Load() with Verify failing = %v, %v; want not found and an error wrapping %v (a failure is never \"no session\")", found, err, errDB)
	}
	// Verify is not consulted for values that do not open.
	if _, found, err := s.Load(t.Context(), "garbage"); found || err != nil {
		t.Errorf("Load(garbage) with Verify failing = %v, %v; want false, nil", found, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{newKey(t)}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				rec := sampleRecord()
				rec.Data = bytes.Repeat([]byte{byte(g)}, 10+i*g%500)
				rec.Version = uint64(i)
				tok, err := s.Save(t.Context(), "", 0, rec)
				if err != nil {
					t.Errorf("Save() error = %v", err)
					return
				}
				got, found, err := s.Load(t.Context(), tok)
				if err != nil || !found || !sameRecord(got, rec) {
					t.Errorf("goroutine %d: Load() = %+v, %v, %v; want %+v", g, got, found, err, rec)
					return
				}
			}
		})
	}
	wg.Wait()
}
