package testenv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// liveness bounds every wait of these tests: what must happen happens long before.
const liveness = 10 * time.Second

// quiet is how long a read waits to show that nothing arrives. A proxy that forwards
// during a stall fails the test only if it forwards within quiet; one that never
// forwards passes however slow the machine.
const quiet = 100 * time.Millisecond

// echoServer is a TCP server that echoes what it reads and records all of it.
type echoServer struct {
	ln     net.Listener
	mu     sync.Mutex
	got    bytes.Buffer
	closed chan struct{} // receives once for each connection that ended
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln, closed: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						e.mu.Lock()
						e.got.Write(buf[:n])
						e.mu.Unlock()
						c.Write(buf[:n])
					}
					if err != nil {
						e.closed <- struct{}{}
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return e
}

// received returns everything the server has read so far.
func (e *echoServer) received() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got.String()
}

// dialProxy connects to p, and returns once p has admitted the connection in its
// state of the moment: the kernel completes a connection before the proxy accepts it.
func dialProxy(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	before := p.admits.Load()
	c, err := net.DialTimeout("tcp", p.Addr(), liveness)
	if err != nil {
		t.Fatalf("dialing the proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(liveness)
	for p.admits.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not accept a connection")
		}
		time.Sleep(time.Millisecond) // polling, not ordering
	}
	return c
}

// roundTrip writes msg on c and requires it echoed back.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("Write(%q): %v", msg, err)
	}
	c.SetReadDeadline(time.Now().Add(liveness))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo of %q = %q, %v", msg, buf, err)
	}
}

// requireClosed requires the next read on c to fail because the connection ended, not
// because of its deadline.
func requireClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(liveness))
	n, err := c.Read(make([]byte, 16))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s: Read = %d bytes, %v; want the connection closed", what, n, err)
	}
}

// requireSilent requires that nothing arrives on c for a while and that c stays open.
func requireSilent(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	n, err := c.Read(make([]byte, 16))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s: Read = %d bytes, %v; want nothing, and the connection open", what, n, err)
	}
}

// TestProxy drives a Proxy through each of its states in front of an echo server:
// forwarding, cut, restored, stalled, restored again, stalled and resumed, and checks
// what the clients see, what the server receives and what Sent counts.
func TestProxy(t *testing.T) {
	e := newEchoServer(t)
	p := NewProxy(t, e.ln.Addr().String())

	c1 := dialProxy(t, p)
	roundTrip(t, c1, "ping")
	if got := p.Sent(); got != 4 {
		t.Errorf("Sent() = %d after forwarding 4 bytes, want 4", got)
	}

	// Cut: the open connection ends, and a new one is closed at once.
	p.Cut()
	requireClosed(t, c1, "after Cut, the connection open before it")
	c := dialProxy(t, p)
	c.Write([]byte("refused"))
	requireClosed(t, c, "after Cut, a new connection")

	// Restored: new connections work again.
	p.Restore()
	roundTrip(t, dialProxy(t, p), "pong")
	if got := p.Sent(); got != 8 {
		t.Errorf("Sent() = %d after forwarding 8 bytes, want 8", got)
	}

	// Stall: an open connection and a new one both stay open and get no answer.
	open := dialProxy(t, p)
	roundTrip(t, open, "open")
	e.mu.Lock()
	before := e.got.Len()
	e.mu.Unlock()
	p.Stall()
	if _, err := open.Write([]byte("lost-open")); err != nil {
		t.Fatalf("Write during the stall: %v", err)
	}
	requireSilent(t, open, "during the stall, the connection open before it")
	parked := dialProxy(t, p)
	if _, err := parked.Write([]byte("lost-new")); err != nil {
		t.Fatalf("Write on a connection made during the stall: %v", err)
	}
	requireSilent(t, parked, "during the stall, a new connection")

	// Restored: the stalled connections are closed, what they carried never arrives.
	p.Restore()
	requireClosed(t, open, "after Restore, the connection that was stalled")
	requireClosed(t, parked, "after Restore, the connection made during the stall")
	// The server's side of the stalled connection has ended too, so nothing more can
	// reach it.
	timer := time.NewTimer(liveness)
	defer timer.Stop()
	for range 2 { // c1's, ended by Cut, and open's
		select {
		case <-e.closed:
		case <-timer.C:
			t.Fatal("the server's connections did not end")
		}
	}
	if got := e.received(); got[before:] != "" {
		t.Errorf("the server received %q sent during the stall; want nothing", got[before:])
	}
	if got, want := p.Sent(), int64(len("pingpongopen")); got != want {
		t.Errorf("Sent() = %d, want %d: bytes swallowed by the stall are not sent", got, want)
	}
	roundTrip(t, dialProxy(t, p), "back")
	if got, want := e.received(), "pingpongopenback"; got != want {
		t.Errorf("the server received %q in all, want %q", got, want)
	}

	// Resume after a stall: new connections work, those of the stall stay hung.
	open = dialProxy(t, p)
	roundTrip(t, open, "open")
	p.Stall()
	parked = dialProxy(t, p)
	open.Write([]byte("lost-open"))
	parked.Write([]byte("lost-new"))
	p.Resume()
	roundTrip(t, dialProxy(t, p), "resumed")
	requireSilent(t, open, "after Resume, the connection open during the stall")
	requireSilent(t, parked, "after Resume, the connection made during the stall")
	if got, want := e.received(), "pingpongopenbackopenresumed"; got != want {
		t.Errorf("the server received %q in all, want %q", got, want)
	}
}
