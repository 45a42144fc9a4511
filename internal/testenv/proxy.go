package testenv

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on a loopback port in front of a server, which a test can cut
// (every connection closed, new ones closed at once), stall (connections accepted and
// kept open, nothing answered: a server that hangs) and restore, and which counts the
// bytes it forwards from clients to the server.
type Proxy struct {
	ln      net.Listener
	target  string
	up      atomic.Bool
	stalled atomic.Bool
	sent    atomic.Int64 // bytes from clients to the server

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy starts a proxy in front of target and stops it when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.up.Store(true)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and makes new ones fail until Restore.
func (p *Proxy) Cut() {
	p.up.Store(false)
	p.closeAll()
}

// Stall makes the proxy a server that hangs: open connections stay open and new ones
// are accepted, but nothing is forwarded either way until Restore.
func (p *Proxy) Stall() { p.stalled.Store(true) }

// Restore lets connections through again. After a stall, the connections that were
// open are closed, as the bytes they swallowed are lost.
func (p *Proxy) Restore() {
	if p.stalled.Swap(false) {
		p.closeAll()
	}
	p.up.Store(true)
}

// Sent returns the number of bytes forwarded from clients to the server so far.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up.Load() {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		if p.stalled.Load() {
			continue // accepted, never answered; closed by Restore or the cleanup
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(s) {
			c.Close()
			if s != nil {
				s.Close()
			}
			continue
		}
		p.wg.Add(2)
		go p.pipe(s, c, &p.sent)
		go p.pipe(c, s, nil)
	}
}

// pipe copies from src to dst until either fails, then closes both.
func (p *Proxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if p.stalled.Load() {
			n = 0 // swallowed: a hung server answers nothing
		}
		if n > 0 {
			if count != nil {
				count.Add(int64(n))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil { // EOF, or a connection closed by Cut
			break
		}
	}
	src.Close()
	dst.Close()
}
