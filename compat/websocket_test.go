package compat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	gorilla "github.com/gorilla/websocket"

	"github.com/seed96b21533/typedsession"
)

// conn is the part of a WebSocket connection the tests use, over either library.
type conn interface {
	Read() (string, error)
	Write(msg string) error
	Close() error
}

type gorillaConn struct{ c *gorilla.Conn }

func (c gorillaConn) Read() (string, error) {
	_, b, err := c.c.ReadMessage()
	return string(b), err
}
func (c gorillaConn) Write(msg string) error {
	return c.c.WriteMessage(gorilla.TextMessage, []byte(msg))
}
func (c gorillaConn) Close() error { return c.c.Close() }

type coderConn struct {
	c   *websocket.Conn
	ctx context.Context
}

func (c coderConn) Read() (string, error) {
	_, b, err := c.c.Read(c.ctx)
	return string(b), err
}
func (c coderConn) Write(msg string) error {
	return c.c.Write(c.ctx, websocket.MessageText, []byte(msg))
}
func (c coderConn) Close() error { return c.c.Close(websocket.StatusNormalClosure, "") }

// upgrader is how one library upgrades a request on the server and dials one on the
// client.
type upgrader struct {
	name    string
	upgrade func(ctx context.Context, w http.ResponseWriter, r *http.Request) (conn, error)
	dial    func(ctx context.Context, url string, h http.Header) (conn, *http.Response, error)
}

var (
	gorillaDial = func(ctx context.Context, url string, h http.Header) (conn, *http.Response, error) {
		c, resp, err := gorilla.DefaultDialer.DialContext(ctx, url, h)
		if err != nil {
			return nil, resp, err
		}
		return gorillaConn{c}, resp, nil
	}
	// gorillaUpgrader is gorilla/websocket with the pattern the Handler documents: the
	// writer's header as the 101's header, so that the cookie Hijack puts there is sent.
	gorillaUpgrader = upgrader{
		name: "gorilla/websocket",
		upgrade: func(_ context.Context, w http.ResponseWriter, r *http.Request) (conn, error) {
			c, err := (&gorilla.Upgrader{}).Upgrade(w, r, w.Header())
			if err != nil {
				return nil, err
			}
			return gorillaConn{c}, nil
		},
		dial: gorillaDial,
	}
	coderUpgrader = upgrader{
		name: "coder/websocket",
		upgrade: func(ctx context.Context, w http.ResponseWriter, r *http.Request) (conn, error) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return nil, err
			}
			return coderConn{c, ctx}, nil
		},
		dial: func(ctx context.Context, url string, h http.Header) (conn, *http.Response, error) {
			c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
			if err != nil {
				return nil, resp, err
			}
			return coderConn{c, ctx}, resp, nil
		},
	}
)

// wsServer serves /seed, /state and /ws under the session middleware in a chi
// router. /ws reads the session, records a visit ("upgraded"), renews the session if
// asked (?renew), upgrades with up, sends "read N" (the visits it read), and answers
// the client's message m with "echo m", until the client closes. done receives the handler's error when it
// ends: the hijacked connection is not the server's to wait for.
func wsServer(t *testing.T, m *typedsession.Manager[state], up upgrader) (srv *httptest.Server, done <-chan error) {
	ch := make(chan error, 1)
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/seed", seedHandler(m))
	r.Get("/state", stateHandler(m))
	r.Get("/ws", func(w http.ResponseWriter, r *http.Request) {
		ch <- func() error {
			read, err := m.Get(r.Context())
			if err != nil {
				return err
			}
			if err := note(m, r, "upgraded"); err != nil {
				return err
			}
			if r.URL.Query().Has("renew") {
				if err := m.Renew(r.Context()); err != nil {
					return err
				}
			}
			c, err := up.upgrade(t.Context(), w, r)
			if err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			defer c.Close()
			if err := c.Write(fmt.Sprint("read ", read.Visits)); err != nil {
				return err
			}
			msg, err := c.Read()
			if err != nil {
				return err
			}
			if err := c.Write("echo " + msg); err != nil {
				return err
			}
			c.Read() // until the client closes
			return nil
		}()
	})
	srv = httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestWebSocket upgrades a request whose session was read and changed before the
// upgrade, with each library: the 101 carries the session's cookie when the token
// is new, the change is saved before the first message (a plain request with the
// cookie sees it while the connection is open), and messages flow both ways.
func TestWebSocket(t *testing.T) {
	for _, up := range []upgrader{gorillaUpgrader, coderUpgrader} {
		for _, tc := range []struct {
			name   string
			seeded bool   // the client has a session before the upgrade
			query  string // "?renew": the handler renews the session before the upgrade
			read   string // the first message: what the handler read
			want   string // the session afterwards
		}{
			{"new session", false, "", "read 0", "1 upgraded"},
			{"existing session", true, "", "read 1", "2 upgraded"},
			{"existing session renewed", true, "?renew", "read 1", "2 upgraded"},
		} {
			t.Run(up.name+"/"+tc.name, func(t *testing.T) {
				m := newManager(t)
				srv, done := wsServer(t, m, up)
				client := srv.Client()
				var old *http.Cookie
				if tc.seeded {
					old = seed(t, client, srv.URL)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				c, resp, err := up.dial(ctx, wsURL(srv.URL, "/ws"+tc.query), cookieHeader(old))
				if err != nil {
					t.Fatalf("dial: %v (response %v); handler: %v", err, resp, <-done)
				}
				defer c.Close()
				if resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("status %d, want 101", resp.StatusCode)
				}
				cookie := sessionCookie(resp)
				switch {
				case old == nil || tc.query == "?renew":
					// A new token: the 101 must carry it.
					if cookie == nil || old != nil && cookie.Value == old.Value {
						t.Fatalf("the 101 sets %q; want the session's new cookie", resp.Header.Values("Set-Cookie"))
					}
				case cookie != nil:
					t.Errorf("the 101 sets %v; want no cookie for an unchanged token", cookie)
					cookie = old
				default:
					cookie = old
				}
				if msg, err := c.Read(); err != nil || msg != tc.read {
					t.Fatalf("first message %q, %v; want %q", msg, err, tc.read)
				}
				// The connection is open and the handler is waiting for our message:
				// the change was saved before the upgrade.
				if got := stateOf(t, client, srv.URL, cookie); got != tc.want {
					t.Errorf("during the WebSocket conversation the session is %q; want %q", got, tc.want)
				}
				if old != nil && tc.query == "?renew" {
					if got := stateOf(t, client, srv.URL, old); got != "status 409" {
						t.Errorf("the renewed token gives %q; want status 409 (ended)", got)
					}
				}
				if err := c.Write("ping"); err != nil {
					t.Fatal(err)
				}
				if msg, err := c.Read(); err != nil || msg != "echo ping" {
					t.Errorf("reply %q, %v; want %q", msg, err, "echo ping")
				}
				c.Close()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("handler: %v", err)
					}
				case <-ctx.Done():
					t.Fatal("the handler did not end")
				}
			})
		}
	}
}

// TestGorillaHeaderArgument shows why the Handler documents Upgrade(w, r, w.Header()):
// gorilla/websocket writes its 101 from the header argument only, so with nil the
// cookie of a new session never reaches the client, though the session was saved.
func TestGorillaHeaderArgument(t *testing.T) {
	m := newManager(t)
	nilHeader := gorillaUpgrader
	nilHeader.upgrade = func(_ context.Context, w http.ResponseWriter, r *http.Request) (conn, error) {
		c, err := (&gorilla.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return nil, err
		}
		return gorillaConn{c}, nil
	}
	srv, done := wsServer(t, m, nilHeader)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, resp, err := nilHeader.dial(ctx, wsURL(srv.URL, "/ws"), nil)
	if err != nil {
		t.Fatalf("dial: %v; handler: %v", err, <-done)
	}
	defer c.Close()
	if cookie := sessionCookie(resp); cookie != nil {
		t.Errorf("with a nil header the 101 sets %v; gorilla/websocket now sends w.Header(), and the Handler's doc is out of date", cookie)
	}
	c.Read()
	c.Write("ping")
	c.Read()
	c.Close()
	if err := <-done; err != nil {
		t.Errorf("handler: %v", err)
	}
}
