package storetest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// The expiry checks move the Managers' clock rather than sleep. The store keeps real
// time, and the sessions' real Expiry lies in the future of the moved clock, so what
// they check is the Manager's own enforcement at read, against its current options;
// RunKV checks that stores enforce Expiry too.

func testIdle(t *testing.T, st store.Store, _ ManagerOptions) {
	const idle = 10 * time.Minute
	s := newServer(t, st, typedsession.Options{IdleTimeout: idle})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	// Activity keeps the session alive past the idle timeout.
	for range 6 {
		s.clock.Add(idle / 3)
		if p := s.profile(s.client, nil); p.Name != "Ada" {
			t.Fatalf("a session used every %v, %v idle timeout, ended: Name = %q", idle/3, idle, p.Name)
		}
	}
	// Idleness ends it, even if the store has not removed it, and the stale cookie is
	// cleared.
	s.clock.Add(idle + time.Second)
	resp, body := s.do(s.client, "GET", "/get", nil, nil)
	if strings.Contains(body, "Ada") {
		t.Errorf("after %v idle, the session gives %s; want it ended", idle+time.Second, body)
	}
	if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("a request with an idle-expired session: Set-Cookie %v; want the cookie cleared", c)
	}
}

func testTouch(t *testing.T, st store.Store, _ ManagerOptions) {
	const interval = time.Minute
	s := newServer(t, st, typedsession.Options{IdleTimeout: time.Hour, TouchInterval: interval})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	saves := s.store.Saves.Load()
	for range 5 {
		s.profile(s.client, nil)
	}
	if n := s.store.Touches.Load(); n != 0 {
		t.Errorf("%d touches for reads within the touch interval of the last write; want 0", n)
	}
	s.clock.Add(interval + time.Second)
	for range 5 {
		s.profile(s.client, nil)
	}
	if n := s.store.Touches.Load(); n != 1 {
		t.Errorf("%d touches for 5 reads after the touch interval; want exactly 1", n)
	}
	if n := s.store.Saves.Load() - saves; n != 0 {
		t.Errorf("reads of an unchanged session made %d saves; want 0 (touch only)", n)
	}
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Errorf("after touch, Name = %q, want %q", p.Name, "Ada")
	}
	// Without an idle timeout, the last activity is kept up all the same.
	s2 := newServer(t, st, typedsession.Options{TouchInterval: interval})
	s2.must("POST", "/set", url.Values{"name": {"Ada"}})
	s2.clock.Add(interval + time.Second)
	s2.profile(s2.client, nil)
	if n := s2.store.Touches.Load(); n != 1 {
		t.Errorf("without an IdleTimeout, %d touches for a read after the touch interval; want 1 (last activity kept)", n)
	}
}

func testLifetime(t *testing.T, st store.Store, _ ManagerOptions) {
	const life = 20 * time.Minute
	s := newServer(t, st, typedsession.Options{Lifetime: life})
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	c := s.cookie(s.client)
	for range 4 {
		s.clock.Add(life / 5)
		s.must("POST", "/incr", nil) // activity does not extend the absolute lifetime
	}
	s.clock.Add(life/5 + time.Second)
	if p := s.profile(s.newClient(), c); p.Name != "" {
		t.Errorf("past the absolute lifetime, despite activity, Name = %q; want the session ended", p.Name)
	}
}

// testTimeoutsChanged checks that a change of IdleTimeout or Lifetime in a deploy takes
// effect at once for the sessions created before it, and that a session that was only
// read under the old settings is judged by its last activity, not by its last write.
func testTimeoutsChanged(t *testing.T, st store.Store, _ ManagerOptions) {
	before := newServer(t, st, typedsession.Options{}) // no idle timeout, 24 h lifetime
	after := func(o typedsession.Options) *server {
		o.Now = before.clock.Now // one clock for both deploys
		return newServer(t, st, o)
	}
	idle := after(typedsession.Options{IdleTimeout: 5 * time.Minute})
	short := after(typedsession.Options{Lifetime: time.Hour})

	before.must("POST", "/set", url.Values{"name": {"idle"}})
	idleSession := before.cookie(before.client)
	reader := before.newClient()
	before.do(reader, "POST", "/set", url.Values{"name": {"reader"}}, nil)
	// Half an hour passes: one session sits idle, the other is read every minute.
	for range 30 {
		before.clock.Add(time.Minute)
		before.profile(reader, nil)
	}
	readSession := before.cookie(reader) // a sealed cookie changes as it is touched
	if p := idle.profile(idle.newClient(), idleSession); p.Name != "" {
		t.Errorf("a session idle for 30 minutes, read under a new 5-minute IdleTimeout, gives %+v; want it ended", p)
	}
	if p := idle.profile(idle.newClient(), readSession); p.Name != "reader" {
		t.Errorf("a session read every minute, read under a new 5-minute IdleTimeout, gives %+v; want it alive", p)
	}
	before.clock.Add(31 * time.Minute) // an hour and a minute since both began
	if p := short.profile(short.newClient(), readSession); p.Name != "" {
		t.Errorf("a session 61 minutes old, read under a new 1-hour Lifetime, gives %+v; want it ended", p)
	}
}
