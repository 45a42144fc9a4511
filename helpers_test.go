package typedsession_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// newMemstore returns an empty memstore with the default options.
func newMemstore(tb testing.TB) *memstore.Store {
	tb.Helper()
	s, err := memstore.New(memstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newToken returns a well-formed token that no store issued.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type cart struct {
	Items []string
}

type user struct {
	ID   int
	Name string
}

// failing is a Store whose every call fails, as a store that is down does.
type failing struct{ store.Store }

var errDown = errors.New("store is down")

func (failing) Load(context.Context, string) (store.Record, bool, error) {
	return store.Record{}, false, errDown
}

func (failing) Save(context.Context, string, uint64, store.Record) (string, error) {
	return "", errDown
}

func serve(h http.Handler, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// strictJSON rejects unknown fields, so a user record does not decode as a cart.
type strictJSON struct{}

func (strictJSON) Marshal(v any) ([]byte, error) { return typedsession.JSON{}.Marshal(v) }

func (strictJSON) Unmarshal(b []byte, v any) error {
	if !bytes.Contains(b, []byte(`"Items"`)) {
		return errors.New("not a cart")
	}
	return typedsession.JSON{}.Unmarshal(b, v)
}

// discard is a logger for tests whose failures are expected.
var discard = slog.New(slog.DiscardHandler)

// defaultName is the session cookie's name with the default Options.
const defaultName = "__Host-session"
