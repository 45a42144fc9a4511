package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// recorder keeps the events a Manager reports, and counts its store calls.
type recorder struct {
	mu            sync.Mutex
	events        []typedsession.Event // but the store calls
	calls, failed int
}

func (r *recorder) record(_ context.Context, e typedsession.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Kind != typedsession.StoreCalled {
		r.events = append(r.events, e)
		return
	}
	r.calls++
	if e.Err != nil {
		r.failed++
	}
}

// take returns the events so far, but the store calls, and forgets them.
func (r *recorder) take() []typedsession.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// describe renders events as "kind(reason)" for failure messages and comparisons.
func describe(events []typedsession.Event) string {
	var b []string
	for _, e := range events {
		s := e.Kind.String()
		if e.Reason != "" {
			s += "(" + e.Reason + ")"
		}
		b = append(b, s)
	}
	return "[" + strings.Join(b, " ") + "]"
}

// testEvents checks that the lifecycle of a session is reported, in order, with IDs
// that are not tokens, after the store confirmed each change.
func testEvents(t *testing.T, st store.Store, o ManagerOptions) {
	rec := &recorder{}
	s := newServer(t, st, typedsession.Options{IdleTimeout: time.Hour, OnEvent: rec.record})
	want := func(what, kinds string) []typedsession.Event {
		t.Helper()
		got := rec.take()
		if d := describe(got); d != kinds {
			t.Errorf("%s: events %s, want %s", what, d, kinds)
		}
		for _, e := range got {
			if c := s.cookie(s.client); c != nil && (strings.Contains(c.Value, e.ID) && e.ID != "") {
				t.Errorf("%s: event %v carries the token", what, e)
			}
			if e.Time.IsZero() {
				t.Errorf("%s: event %v has no time", what, e)
			}
		}
		return got
	}
	s.must("GET", "/get", nil)
	want("a visitor who only reads", "[]")
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	created := want("a first change", "[created]")
	s.must("POST", "/set", url.Values{"name": {"Ada"}})
	want("a change that changes nothing", "[]")
	s.must("POST", "/login", url.Values{"name": {"Ada"}, "owner": {"u1"}})
	login := want("a login", "[renewed owned]")
	if len(created) == 1 && len(login) == 2 && (login[0].PreviousID != created[0].ID || login[0].ID == created[0].ID || login[1].Owner != "u1") {
		t.Errorf("login events %+v: want the renewal from the created session's ID to a new one, owned by u1", login)
	}
	s.must("POST", "/destroy", nil)
	destroyed := want("a logout", "[destroyed]")
	if !o.ClientSide && len(destroyed) == 1 && destroyed[0].ID != login[0].ID {
		t.Errorf("the logout reported ID %q, want the session's %q", destroyed[0].ID, login[0].ID)
	}
	// A session found expired when read.
	s.must("POST", "/set", url.Values{"name": {"Grace"}})
	want("a new session", "[created]")
	s.clock.Add(2 * time.Hour)
	s.must("GET", "/get", nil)
	want("a read of an expired session", "[expired]")
	rec.mu.Lock()
	if rec.calls == 0 || rec.failed != 0 {
		t.Errorf("%d store calls reported, %d failed; want some, none failed", rec.calls, rec.failed)
	}
	rec.mu.Unlock()
	if o.ClientSide {
		return
	}
	// Revocations say which call ended the session.
	a, b := s.newClient(), s.newClient()
	s.do(a, "POST", "/login", url.Values{"name": {"u2"}, "owner": {"u2"}}, nil)
	s.do(b, "POST", "/login", url.Values{"name": {"u2"}, "owner": {"u2"}}, nil)
	rec.take()
	s.do(a, "POST", "/others", nil, nil)
	want("DestroyOthers", "[revoked(DestroyOthers)]")
	s.do(s.newClient(), "POST", "/everywhere", url.Values{"owner": {"u2"}}, nil)
	want("DestroyOwner", "[revoked(DestroyOwner)]")
	// A conflict is retried, and reported.
	s.do(a, "POST", "/login", url.Values{"name": {"u3"}, "owner": {"u3"}}, nil)
	rec.take()
	results := s.race(2, "/incr", nil, s.cookie(a), "conflict")()
	for _, r := range results {
		if r.status != http.StatusOK {
			t.Errorf("a concurrent increment: status %d", r.status)
		}
	}
	if got := describe(rec.take()); got != "[conflict retried]" && !strings.HasPrefix(got, "[conflict retried conflict retried") {
		t.Errorf("two increments that read the same version: events %s, want a conflict retried", got)
	}
}

// testOwnerLimit checks Options.MaxOwnerSessions in both modes: one at a time, and
// under concurrent logins, where exactly the limit's number of sessions survive.
func testOwnerLimit(t *testing.T, st store.Store, o ManagerOptions) {
	if _, ok := st.(store.OwnerStore); !ok || o.ClientSide {
		_, err := typedsession.New[profile](st, typedsession.Options{MaxOwnerSessions: 2})
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("New with MaxOwnerSessions over a store without an owner index: err = %v, want errors.ErrUnsupported", err)
		}
		return
	}
	const limit = 2
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refuse=%v", refuse), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, st, typedsession.Options{MaxOwnerSessions: limit, RefuseOverLimit: refuse, OnEvent: rec.record, StoreTimeout: raceBudget, MaxRetries: raceRetries})
			owner := "limit-" + fmt.Sprint(refuse)
			var devices []*http.Client
			for i := range limit + 1 {
				c := s.newClient()
				devices = append(devices, c)
				resp, body := s.do(c, "POST", "/login", url.Values{"name": {fmt.Sprint("device", i)}, "owner": {owner}}, nil)
				switch {
				case i < limit && resp.StatusCode != http.StatusOK:
					t.Fatalf("login %d of %d: status %d, body %q", i+1, limit, resp.StatusCode, body)
				case i == limit && refuse && (resp.StatusCode != http.StatusConflict || sessionCookie(resp) != nil):
					t.Errorf("a login over the limit, refused: status %d, cookie %v; want 409 and no cookie", resp.StatusCode, sessionCookie(resp))
				case i == limit && !refuse && resp.StatusCode != http.StatusOK:
					t.Errorf("a login over the limit: status %d; want 200, the oldest session ended", resp.StatusCode)
				}
				s.clock.Add(time.Minute) // so that the devices differ in last activity
			}
			alive := func(c *http.Client) bool { return s.profile(c, nil).Name != "" }
			if refuse {
				if !alive(devices[0]) || !alive(devices[1]) || alive(devices[2]) {
					t.Errorf("after a refused login, the devices are alive: %v %v %v; want the first two", alive(devices[0]), alive(devices[1]), alive(devices[2]))
				}
			} else {
				if alive(devices[0]) || !alive(devices[1]) || !alive(devices[2]) {
					t.Errorf("after a login over the limit, the devices are alive: %v %v %v; want the last two", alive(devices[0]), alive(devices[1]), alive(devices[2]))
				}
				if got := describe(rec.take()); !strings.Contains(got, "revoked(owner limit)") {
					t.Errorf("events %s; want the oldest session revoked for the owner limit", got)
				}
			}

			// Concurrent logins of one owner: all read, then all write at once.
			const n = 6
			owner = "race-" + owner
			results := s.race(n, "/login", url.Values{"name": {"racer"}, "owner": {owner}}, nil, "logins")()
			ok := 0
			for _, r := range results {
				switch r.status {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
				default:
					t.Errorf("a concurrent login: status %d, body %q", r.status, r.body)
				}
			}
			if got := len(s.sessions(s.newClient(), owner)); got != min(n, limit) {
				t.Errorf("%d concurrent logins of one owner with a limit of %d left %d sessions; want exactly %d", n, limit, got, min(n, limit))
			}
			t.Logf("%d concurrent logins, limit %d: %d answered 200", n, limit, ok)
		})
	}
}
