package main

import (
	"fmt"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// openStore returns the store named by kind ("" or "memory", "redis", "postgres",
// "cookie") and a function that releases it.
func openStore(kind string) (typedsession.Store, func(), error) {
	switch kind {
	case "", "memory":
		s := memstore.New(memstore.Options{})
		s.StartCleanup(time.Minute)
		return s, func() { s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("demo: unknown STORE %q (want memory, redis, postgres or cookie)", kind)
}
