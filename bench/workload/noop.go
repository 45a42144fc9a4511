package workload

import (
	"net/http"
	"testing"
)

// Noop is harness-noop: the same request path with a session layer that does nothing.
// Its middleware passes the request through, Read returns the payload from memory,
// IncrCounter returns Counter+1 without keeping it, and New sets a constant cookie. What
// it measures is the router, the recorder and the checks, which every other row pays too.
var Noop = Backend{
	Name: "noop",
	Open: func(tb testing.TB, cfg Config) Layer {
		p := cfg.Profile
		return Layer{
			Middleware:  func(next http.Handler) http.Handler { return next },
			Read:        func(*http.Request) (Profile, error) { return p, nil },
			IncrCounter: func(http.ResponseWriter, *http.Request) (int, error) { return p.Counter + 1, nil },
			New: func(w http.ResponseWriter, _ *http.Request, _ Profile) error {
				w.Header()["Set-Cookie"] = noopCookie
				return nil
			},
		}
	},
}

var noopCookie = []string{"session=noop; Path=/; HttpOnly"}
