// Package testenv finds the servers that backend tests need, and takes them away: a
// [Proxy] that cuts or stalls the way to a server, and [Outage], the outage test that
// every server-side store runs through a Manager.
package testenv

import (
	"os"
	"testing"
)

// Unavailable ends a test that cannot reach a backend server: it skips on a developer's
// machine and fails when the CI environment variable is set, so that a missing server is
// never counted as a pass in CI.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required when CI is set: %v", what, err)
	}
	t.Skipf("%s unavailable (set CI=1 to make this a failure): %v", what, err)
}

// Getenv returns the environment variable key, or def when it is empty.
func Getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
