package typedsession_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
)

func TestWithSession(t *testing.T) {
	m, _ := typedsession.New[user](failing{}, typedsession.Options{})
	ctx := m.WithSession(t.Context(), user{ID: 1, Name: "Ada"})
	if err := m.Update(ctx, func(u *user) error { u.Name = "Grace"; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, err := m.Get(ctx); err != nil || u.Name != "Grace" || u.ID != 1 {
		t.Errorf("Get = %+v, %v; want the updated in-memory session, no store call", u, err)
	}
	if err := m.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if u, _ := m.Get(ctx); u != (user{}) {
		t.Errorf("after Destroy, Get = %+v, want zero", u)
	}
}

func TestDecodeErrorHook(t *testing.T) {
	st := newMemstore(t)
	writer, _ := typedsession.New[user](st, typedsession.Options{})
	var hooked error
	reader, _ := typedsession.New[cart](st, typedsession.Options{
		Codec: strictJSON{},
		OnDecodeError: func(ctx context.Context, err error) error {
			hooked = err
			return errors.New("refused")
		},
	})
	w := serve(writer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writer.Put(r.Context(), user{ID: 1})
	})), nil)
	c := w.Result().Cookies()[0]
	w = serve(reader.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reader.Get(r.Context())
	})), c)
	if hooked == nil || w.Code != http.StatusInternalServerError {
		t.Errorf("hook got %v, status %d; want the decode error and the hook's error reported as 500", hooked, w.Code)
	}
}

// TestNewTesting checks the store-free Manager for handler tests: it serves seeded
// contexts, through Handler too, and says ErrUnsupported for the owner calls.
func TestNewTesting(t *testing.T) {
	m, err := typedsession.NewTesting[user](typedsession.Options{})
	if err != nil {
		t.Fatal(err)
	}
	greet := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Update(r.Context(), func(u *user) error { u.ID++; return nil }); err != nil {
			t.Error(err)
		}
		u, _ := m.Get(r.Context())
		fmt.Fprintf(w, "%d %s", u.ID, u.Name)
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(m.WithSession(req.Context(), user{ID: 1, Name: "Ada"}))
	w := httptest.NewRecorder()
	greet.ServeHTTP(w, req)
	if got := w.Body.String(); got != "2 Ada" || len(w.Result().Cookies()) != 0 {
		t.Errorf("a seeded request through Handler: body %q, cookies %v; want the seeded session changed in memory, no cookie", got, w.Result().Cookies())
	}
	if _, err := m.DestroyOwner(req.Context(), "u1"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DestroyOwner on a Manager without a store: %v, want errors.ErrUnsupported", err)
	}
	for info, err := range m.Sessions(req.Context(), "u1") {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Sessions on a Manager without a store: %+v, %v; want errors.ErrUnsupported", info, err)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "WithSession") {
			t.Errorf("an unseeded request to a Manager from NewTesting: recover() = %v; want a panic that names WithSession", r)
		}
	}()
	serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r.Context())
	})), &http.Cookie{Name: defaultName, Value: newToken()})
}
