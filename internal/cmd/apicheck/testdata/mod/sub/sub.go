// Package sub uses the types of its parent package.
package sub

import apitest "example.com/apitest"

// T embeds a type of the parent.
type T struct {
	apitest.Closer
	L apitest.List[int]
}

// New returns a T.
func New(p apitest.Pair[string, float64]) *T { return nil }
