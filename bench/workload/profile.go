// Package workload is the fixed benchmark workload of /work/shared/BENCH-WORKLOAD.md: the
// Profile payload, the five requests, and one driver, [Run], that measures any session
// layer (ours, scs, gorilla/sessions, or none) on them. Both bench modules import it, so
// every backend, its floor and the peers run exactly the same code path.
package workload

import (
	"encoding/json"
	"fmt"
	"time"
)

// Item is one line of the Profile's cart.
type Item struct {
	SKU        string
	Qty        int
	PriceCents int64
}

// Profile is the session value of the workload.
type Profile struct {
	UserID   int64
	Name     string
	Email    string
	Roles    []string // 3 items
	Cart     []Item   // 5 items
	Counter  int
	LastSeen time.Time
}

// Canonical returns the canonical Profile, about 440 bytes as JSON.
func Canonical() Profile {
	return Profile{
		UserID: 4242,
		Name:   "Ada Lovelace",
		Email:  "ada@analytical-engine.example",
		Roles:  []string{"customer", "beta-tester", "newsletter"},
		Cart: []Item{
			{"BOOK-9780141439846", 1, 1299},
			{"PEN-LAMY-SAFARI", 2, 2950},
			{"INK-50ML-BLUEBLK", 3, 1150},
			{"NOTEBOOK-A5-DOT", 1, 2400},
			{"GIFT-WRAP", 1, 399},
		},
		Counter:  0,
		LastSeen: time.Date(2025, 3, 14, 15, 9, 26, 535e6, time.UTC),
	}
}

// Size is a payload size of the size sweep.
type Size struct {
	Name  string // "440B", "4KiB", ...
	Bytes int    // the JSON size the Profile is grown to, at least
}

// Sizes of the sweep. Server stores run them all; the cookie store runs those that fit
// in a 4096-byte cookie ([CookieSizes]).
var (
	Size440B  = Size{"440B", 0}
	Size1KiB  = Size{"1KiB", 1 << 10}
	Size2KiB  = Size{"2KiB", 2 << 10}
	Size4KiB  = Size{"4KiB", 4 << 10}
	Size64KiB = Size{"64KiB", 64 << 10}

	ServerSizes = []Size{Size440B, Size4KiB, Size64KiB}
	CookieSizes = []Size{Size440B, Size1KiB, Size2KiB}
)

// Sized returns the canonical Profile with its Cart grown (by repeating its five items
// with numbered SKUs) until its JSON encoding is at least s.Bytes long.
func Sized(s Size) Profile {
	p := Canonical()
	base := p.Cart
	for i := 0; jsonLen(p) < s.Bytes; i++ {
		it := base[i%len(base)]
		it.SKU = fmt.Sprintf("%s-%04d", it.SKU, i)
		p.Cart = append(p.Cart, it)
	}
	return p
}

func jsonLen(p Profile) int {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return len(b)
}
