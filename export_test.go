package typedsession

import "github.com/seed96b21533/typedsession/store"

// CookieValue exports cookieValue to the tests.
var CookieValue = cookieValue

// SetCookie returns the Set-Cookie header m renders for value and rec, and the one
// net/http renders for the same cookie.
func SetCookie[T any](m *Manager[T], value string, rec store.Record) (got, want string) {
	return m.setCookie(value, rec), m.cookie(value, rec).String()
}
