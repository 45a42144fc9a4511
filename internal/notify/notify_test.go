package notify_test

import (
	"testing"

	"github.com/seed96b21533/typedsession/internal/notify"
	"github.com/seed96b21533/typedsession/store"
)

func TestList(t *testing.T) {
	var l notify.List
	if l.Active() {
		t.Fatal("the zero List is active")
	}
	l.Notify(store.Removal{ID: "nobody listens"}) // no panic, nothing to call
	var a, b []string
	cancelA := l.Add(func(r store.Removal) { a = append(a, r.ID) })
	l.Add(func(r store.Removal) { b = append(b, r.ID) })
	if !l.Active() {
		t.Fatal("a List with functions is not active")
	}
	l.Notify(store.Removal{ID: "1"}, store.Removal{ID: "2"})
	cancelA()
	l.Notify(store.Removal{ID: "3"})
	if len(a) != 2 || a[0] != "1" || a[1] != "2" {
		t.Errorf("the cancelled function got %v, want [1 2]", a)
	}
	if len(b) != 3 || b[2] != "3" {
		t.Errorf("the other function got %v, want [1 2 3]", b)
	}
}
