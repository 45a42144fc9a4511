package storetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// testCommit checks Commit: a save that succeeds is reported as such; a save that
// fails is handed to the handler, whose own non-2xx response stands, while a 2xx one is
// replaced by the ErrorHandler's (it would present a lost change as a success).
func testCommit(t *testing.T, st store.Store, o ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	if _, body := s.must("POST", "/commit", url.Values{"name": {"Ada"}}); body != "committed" {
		t.Errorf("Commit of a new session: body %q, want committed", body)
	}
	if p := s.profile(s.client, nil); p.Name != "Ada" {
		t.Errorf("after Commit, Name = %q, want Ada", p.Name)
	}
	if o.ClientSide {
		return // last-writer-wins: there is no conflict to make a save fail
	}
	// A save fails when another request ends the session between the read and the
	// Commit: the handler answers, with its own status if it is not a 2xx.
	for _, tc := range []struct {
		status   string
		wantCode int
		wantBody string
	}{
		{"422", http.StatusUnprocessableEntity, "handler: "},
		{"303", http.StatusSeeOther, "handler: "},
		{"200", http.StatusConflict, "Conflict"},
	} {
		c := s.newClient()
		s.do(c, "POST", "/set", url.Values{"name": {"Grace"}}, nil)
		cookie := s.cookie(c)
		done := make(chan result, 1)
		go func() {
			req := url.Values{"name": {"Hopper"}, "status": {tc.status}, "hold": {"commit" + tc.status}}
			noRedirect := s.newClient()
			noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, body := s.do(noRedirect, "POST", "/commit", req, cookie)
			done <- result{resp.StatusCode, body, sessionCookie(resp)}
		}()
		s.gate("commit"+tc.status).wait(t, 1)
		s.do(s.newClient(), "POST", "/destroy", nil, cookie)
		s.gate("commit" + tc.status).open()
		r := <-done
		if r.status != tc.wantCode || !strings.Contains(r.body, tc.wantBody) || r.cookie != nil {
			t.Errorf("a failed Commit answered by the handler with %s: status %d, body %q, cookie %v; want %d, %q in the body, no cookie",
				tc.status, r.status, r.body, r.cookie, tc.wantCode, tc.wantBody)
		}
	}
}

// info is the answer of /info.
type info struct {
	Info typedsession.SessionInfo
	OK   bool
}

func (s *server) info(c *http.Client) info {
	s.t.Helper()
	resp, body := s.do(c, "GET", "/info", nil, nil)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /info: status %d, body %q", resp.StatusCode, body)
	}
	var i info
	if err := json.Unmarshal([]byte(body), &i); err != nil {
		s.t.Fatalf("GET /info: %v in %q", err, body)
	}
	return i
}

// testInfo checks what an account page learns of the request's session.
func testInfo(t *testing.T, st store.Store, _ ManagerOptions) {
	s := newServer(t, st, typedsession.Options{})
	if i := s.info(s.client); i.OK {
		t.Errorf("Info without a session = %+v; want ok false", i)
	}
	s.must("POST", "/login", url.Values{"name": {"Ada"}, "owner": {"u1"}})
	s.must("POST", "/remember", url.Values{"on": {"1"}})
	i := s.info(s.client)
	if !i.OK || i.Info.Owner != "u1" || !i.Info.RememberMe || i.Info.ID == "" || i.Info.Created.IsZero() || i.Info.LastSeen.IsZero() || !i.Info.Current {
		t.Errorf("Info of a logged-in remember-me session = %+v; want ok, Owner u1, RememberMe, an ID, Created, LastSeen and Current", i)
	}
	if strings.Contains(s.cookie(s.client).Value, i.Info.ID) {
		t.Errorf("SessionInfo.ID %q gives away the token", i.Info.ID)
	}
}
