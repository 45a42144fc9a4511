package typedsession_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"

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
