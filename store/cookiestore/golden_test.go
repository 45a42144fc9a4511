package cookiestore_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

// firstReleaseCookie is a cookie value sealed by the first release (commit 58ccb4d):
// its Store.Save, with the key fixedKey(1), the cookie name "session" and the nonce
// 00 01 02 ... 0b, sealed firstReleaseRecord, whose encoding inside is format 1 (no
// Active, no Ended).
const firstReleaseCookie = "Aat0Ot0AAQIDBAUGBwgJCgsBiQzvH0S-w_Wo-EMQiUOPug4B9n0DVsoEi2nmtufZtr01yHjxBx2rWohnROmUUV961_bwIVnQXAaV"

// firstReleaseRecord is the record inside firstReleaseCookie, as Load returns it today.
var firstReleaseRecord = store.Record{
	Data:       []byte(`{"N":41}`),
	Expiry:     t0.Add(time.Hour),
	Created:    t0.Add(-time.Minute),
	Version:    7,
	Owner:      "user-42",
	RememberMe: true,
}

// goldenNonce is the nonce the first release sealed firstReleaseCookie with.
func goldenNonce(b []byte) {
	for i := range b {
		b[i] = byte(i)
	}
}

// TestFirstReleaseCookie checks that a cookie sealed by the first release still opens,
// to the record it holds, and that today's Save of that record, with the same key and
// nonce, seals format 2 instead.
func TestFirstReleaseCookie(t *testing.T) {
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{fixedKey(1)}})
	pt, ok := cookiestore.Plaintext(s, firstReleaseCookie)
	if !ok || len(pt) == 0 || pt[0] != store.RecordFormatV1 {
		t.Fatalf("the first release's cookie does not hold a format-1 record: %x, %v", pt, ok)
	}
	rec, found, err := s.Load(t.Context(), firstReleaseCookie)
	if err != nil || !found {
		t.Fatalf("Load(the first release's cookie) = found %v, %v; want it opened", found, err)
	}
	if !sameRecord(rec, firstReleaseRecord) {
		t.Errorf("Load(the first release's cookie) = %+v, want %+v", rec, firstReleaseRecord)
	}

	cookiestore.SetNonce(s, goldenNonce)
	resealed := mustSave(t, s, firstReleaseRecord)
	if resealed == firstReleaseCookie {
		t.Error("Save today seals the same bytes as the first release; want format 2")
	}
	if pt, _ := cookiestore.Plaintext(s, resealed); len(pt) == 0 || pt[0] != store.RecordFormat {
		t.Errorf("Save today seals %x; want a format-%d record", pt, store.RecordFormat)
	}
}

// TestFirstReleaseCookieManager sends the first release's cookie to a Manager: it
// serves the session in it, and its next write reseals the session in format 2, with
// its Owner and "remember me" kept.
func TestFirstReleaseCookieManager(t *testing.T) {
	now := t0
	s := newStore(t, &now, cookiestore.Options{Keys: [][]byte{fixedKey(1)}})
	type counter struct{ N int }
	m, err := typedsession.New[counter](s, typedsession.Options{
		CookieName: "session", // the first release's default, which its seal binds; kept as the CHANGELOG advises
		Now:        func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := m.Update(r.Context(), func(c *counter) error { c.N++; n = c.N; return nil }); err == nil {
			fmt.Fprint(w, n)
		}
	})
	r := httptest.NewRequestWithContext(t.Context(), "POST", "https://example.com/incr", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: firstReleaseCookie})
	w := httptest.NewRecorder()
	m.Handler(mux).ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.String() != "42" {
		t.Fatalf("POST /incr with the first release's cookie = %d %q, want 200 42", w.Code, w.Body)
	}
	var value string
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" {
			value = c.Value
		}
	}
	pt, ok := cookiestore.Plaintext(s, value)
	if !ok || pt[0] != store.RecordFormat {
		t.Fatalf("the cookie written back holds %x, %v; want a format-%d record", pt, ok, store.RecordFormat)
	}
	rec, found, err := s.Load(t.Context(), value)
	if err != nil || !found {
		t.Fatalf("Load(the cookie written back) = found %v, %v", found, err)
	}
	want := firstReleaseRecord
	want.Data = []byte(`{"N":42}`)
	if !bytes.Equal(rec.Data, want.Data) || !rec.Created.Equal(want.Created) || rec.Owner != want.Owner || !rec.RememberMe {
		t.Errorf("the cookie written back holds %+v; want the session %+v with its data changed", rec, want)
	}
}
