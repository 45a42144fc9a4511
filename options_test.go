package typedsession_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    typedsession.Options
	}{
		{"SameSite=None without Secure", typedsession.Options{SameSite: http.SameSiteNoneMode, Insecure: true}},
		{"unknown SameSite", typedsession.Options{SameSite: 9}},
		{"bad cookie name", typedsession.Options{CookieName: "a b"}},
		{"__Host- with Domain", typedsession.Options{CookieName: "__Host-s", Domain: "example.com"}},
		{"__Host- insecure", typedsession.Options{CookieName: "__Host-s", Insecure: true}},
		{"__Secure- insecure", typedsession.Options{CookieName: "__Secure-s", Insecure: true}},
		{"negative lifetime", typedsession.Options{Lifetime: -time.Second}},
		{"negative idle", typedsession.Options{IdleTimeout: -time.Second}},
		{"Partitioned without Secure", typedsession.Options{Partitioned: true, Insecure: true}},
		{"idle longer than lifetime", typedsession.Options{IdleTimeout: 2 * time.Hour, Lifetime: time.Hour}},
		{"touch not shorter than idle", typedsession.Options{IdleTimeout: time.Second, TouchInterval: time.Second}},
		{"Set-Cookie header", typedsession.Options{Header: "set-cookie"}},
		{"path without a slash", typedsession.Options{Path: "app"}},
		{"path with a semicolon", typedsession.Options{Path: "/a;b"}},
		{"domain with a space", typedsession.Options{Domain: "exa mple.com"}},
		{"domain with an empty label", typedsession.Options{Domain: "example..com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := typedsession.New[user](newMemstore(t), tc.o)
			if err == nil || !strings.HasPrefix(err.Error(), "typedsession: ") {
				t.Errorf("New(%+v) error = %v, want a typedsession: error", tc.o, err)
			}
		})
	}
	if _, err := typedsession.New[user](newMemstore(t), typedsession.Options{}); err != nil {
		t.Errorf("New with zero Options: %v", err)
	}
}

func TestNewPanicsOnNilStore(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "typedsession: ") {
			t.Errorf("recover() = %v, want a typedsession: panic", r)
		}
	}()
	typedsession.New[user](nil, typedsession.Options{})
}

// TestDefaultCookieName checks the default names of OWASP ASVS 5.0 V3.3.1: __Host- for a
// host-only cookie, __Secure- for one shared on purpose, and the plain name only on
// plain http.
func TestDefaultCookieName(t *testing.T) {
	for _, tc := range []struct {
		o    typedsession.Options
		want string
	}{
		{typedsession.Options{}, "__Host-session"},
		{typedsession.Options{Domain: "example.com"}, "__Secure-session"},
		{typedsession.Options{Path: "/app"}, "__Secure-session"},
		{typedsession.Options{Insecure: true}, "session"},
		{typedsession.Options{Insecure: true, Domain: "example.com"}, "session"},
		{typedsession.Options{CookieName: "sid"}, "sid"},
		{typedsession.Options{SameSite: http.SameSiteNoneMode, Partitioned: true}, "__Host-session"},
	} {
		m, err := typedsession.New[user](newMemstore(t), tc.o)
		if err != nil {
			t.Fatalf("New(%+v): %v", tc.o, err)
		}
		w := serve(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Put(r.Context(), user{ID: 1})
		})), nil)
		c := w.Result().Cookies()
		if len(c) != 1 || c[0].Name != tc.want {
			t.Errorf("Options %+v: cookies %v, want one named %q", tc.o, c, tc.want)
			continue
		}
		if c[0].Partitioned != tc.o.Partitioned {
			t.Errorf("Options %+v: cookie Partitioned = %v", tc.o, c[0].Partitioned)
		}
	}
}
