package storetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

func (s *server) sessions(c *http.Client, owner string) []typedsession.SessionInfo {
	s.t.Helper()
	resp, body := s.do(c, "GET", "/sessions", url.Values{"owner": {owner}}, nil)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /sessions: status %d, body %q", resp.StatusCode, body)
	}
	var list []typedsession.SessionInfo
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		s.t.Fatalf("GET /sessions: %v in %q", err, body)
	}
	return list
}

// ownerless reports whether st cannot list sessions by owner, and checks that the
// owner operations then say errors.ErrUnsupported.
func ownerless(t *testing.T, s *server, st store.Store, o ManagerOptions) bool {
	t.Helper()
	if _, ok := st.(store.OwnerStore); ok && !o.ClientSide {
		return false
	}
	resp, body := s.do(s.client, "POST", "/everywhere", url.Values{"owner": {"u1"}}, nil)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "unsupported") {
		t.Errorf("DestroyOwner on a store without an owner index: status %d, body %q; want an error wrapping errors.ErrUnsupported", resp.StatusCode, body)
	}
	return true
}

func testOwner(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	if ownerless(t, s, st, o) {
		return
	}
	a, b, c := s.newClient(), s.newClient(), s.newClient()
	// An anonymous session becomes an owned one at login: the token is renewed.
	s.do(a, "POST", "/set", url.Values{"name": {"anon"}}, nil)
	anon := s.cookie(a)
	for _, l := range []struct {
		c     *http.Client
		owner string
	}{{a, "u1"}, {b, "u1"}, {c, "u2"}} {
		if resp, body := s.do(l.c, "POST", "/login", url.Values{"name": {l.owner}, "owner": {l.owner}}, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("login: status %d, body %q", resp.StatusCode, body)
		}
	}
	if got := s.cookie(a); got == nil || got.Value == anon.Value {
		t.Errorf("setting the owner kept the anonymous token; want it renewed")
	}
	list := s.sessions(a, "u1")
	if len(list) != 2 {
		t.Fatalf("Sessions(u1) listed %d sessions, want 2: %+v", len(list), list)
	}
	if !list[0].Current || list[1].Current {
		t.Errorf("Sessions(u1) from one of them = %+v; want the current session first, and only it marked Current", list)
	}
	for _, info := range list {
		if info.ID == "" || info.Owner != "u1" || info.Created.IsZero() || !info.Expiry.After(time.Now()) {
			t.Errorf("SessionInfo %+v: want an ID, the owner, a creation time and a future expiry", info)
		}
		if strings.Contains(s.cookie(a).Value, info.ID) || strings.Contains(s.cookie(b).Value, info.ID) {
			t.Errorf("SessionInfo.ID %q gives away a token", info.ID)
		}
	}
	// Renew keeps the owner.
	s.do(b, "POST", "/renew", nil, nil)
	if n := len(s.sessions(b, "u1")); n != 2 {
		t.Errorf("after Renew, Sessions(u1) lists %d, want 2 (the owner kept, the old token unlisted)", n)
	}
	// Log out all other sessions.
	if resp, body := s.do(a, "POST", "/others", nil, nil); resp.StatusCode != http.StatusOK || body != "1" {
		t.Errorf("DestroyOthers: status %d, body %q; want 1 session ended", resp.StatusCode, body)
	}
	if p := s.profile(b, nil); p.Name != "" {
		t.Errorf("after DestroyOthers, the other session still gives %+v", p)
	}
	if p := s.profile(a, nil); p.Name != "u1" {
		t.Errorf("DestroyOthers ended the current session: %+v", p)
	}
	// Log out everywhere, from a request that is not one of the owner's sessions, while
	// a request of the owner's holds its session between read and write.
	old := s.cookie(a)
	wait := s.race(1, "/incr", nil, old, "late")
	if resp, body := s.do(c, "POST", "/everywhere", url.Values{"owner": {"u1"}}, nil); resp.StatusCode != http.StatusOK || body != "1" {
		t.Errorf("DestroyOwner(u1): status %d, body %q; want 1 session ended", resp.StatusCode, body)
	}
	if r := wait()[0]; r.status != http.StatusConflict || r.cookie != nil {
		t.Errorf("a write to a session DestroyOwner ended while it ran: status %d, cookie %v; want 409 and no cookie", r.status, r.cookie)
	}
	if p := s.profile(s.newClient(), old); p.Name != "" {
		t.Errorf("after DestroyOwner, the owner's cookie still gives %+v", p)
	}
	if n := len(s.sessions(c, "u1")); n != 0 {
		t.Errorf("after DestroyOwner, Sessions(u1) lists %d, want 0", n)
	}
	if p := s.profile(c, nil); p.Name != "u2" {
		t.Errorf("DestroyOwner(u1) touched another owner's session: %+v", p)
	}
	// Destroy removes a session from its owner's list.
	s.do(c, "POST", "/destroy", nil, nil)
	if n := len(s.sessions(c, "u2")); n != 0 {
		t.Errorf("after Destroy, Sessions(u2) lists %d, want 0", n)
	}
}

// testDestroyID checks "sign out this device": a listed session ends by its ID, only
// for its own owner.
func testDestroyID(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	if ownerless(t, s, st, o) {
		return
	}
	phone, laptop, mallory := s.newClient(), s.newClient(), s.newClient()
	for c, owner := range map[*http.Client]string{phone: "u1", laptop: "u1", mallory: "u2"} {
		s.do(c, "POST", "/login", url.Values{"name": {owner}, "owner": {owner}}, nil)
	}
	var phoneID string
	for _, info := range s.sessions(laptop, "u1") {
		if !info.Current {
			phoneID = info.ID
		}
	}
	if phoneID == "" {
		t.Fatal("Sessions(u1) from the laptop lists no other session")
	}
	// Another owner cannot end it, whatever ID it learns.
	if resp, body := s.do(mallory, "POST", "/destroyid", url.Values{"owner": {"u2"}, "id": {phoneID}}, nil); resp.StatusCode != http.StatusOK || body != "false" {
		t.Errorf("DestroyID(u2, a session of u1): status %d, body %q; want false", resp.StatusCode, body)
	}
	if p := s.profile(phone, nil); p.Name != "u1" {
		t.Errorf("after another owner's DestroyID, the session gives %+v; want it alive", p)
	}
	for _, bad := range []string{"", "not an id", strings.Repeat("A", 43)} {
		if resp, body := s.do(laptop, "POST", "/destroyid", url.Values{"owner": {"u1"}, "id": {bad}}, nil); resp.StatusCode != http.StatusOK || body != "false" {
			t.Errorf("DestroyID(u1, %q): status %d, body %q; want false", bad, resp.StatusCode, body)
		}
	}
	if resp, body := s.do(laptop, "POST", "/destroyid", url.Values{"owner": {"u1"}, "id": {phoneID}}, nil); resp.StatusCode != http.StatusOK || body != "true" {
		t.Errorf("DestroyID(u1, the phone): status %d, body %q; want true", resp.StatusCode, body)
	}
	if p := s.profile(phone, nil); p.Name != "" {
		t.Errorf("after DestroyID, the phone's session gives %+v; want it ended", p)
	}
	if p := s.profile(laptop, nil); p.Name != "u1" {
		t.Errorf("DestroyID of the phone ended the laptop's session: %+v", p)
	}
}
