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
	ln     net.Listener
	target string
	sent   atomic.Int64 // bytes from clients to the server
	admits atomic.Int64 // connections accepted and admitted, for the tests of Proxy
	wg     sync.WaitGroup

	mu      sync.Mutex
	up      bool   // false from Cut to Restore
	stalled bool   // true from Stall to Restore
	gen     uint64 // counts the stalls: a pipe made before one never forwards again
	conns   map[net.Conn]struct{}
}

// NewProxy starts a proxy in front of target and stops it when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closeAllLocked()
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and makes new ones fail until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	p.closeAllLocked()
}

// Stall makes the proxy a server that hangs: open connections stay open and new ones
// are accepted, but nothing is forwarded either way until Restore.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	p.gen++
}

// Restore lets connections through again. After a stall, the connections that were
// open are closed, as the bytes they swallowed are lost: nothing written to the proxy
// during a stall ever reaches either side.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.closeAllLocked()
		p.stalled = false
	}
	p.up = true
}

// Resume lets connections through again after a stall, as Restore does, but leaves
// the connections that were open during the stall as they are: nothing reaches them
// and they never close (until the test ends), as when a network has lost their state
// (a failover, a dropped NAT entry) and only new connections find the server.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = false
	p.up = true
}

// Sent returns the number of bytes forwarded from clients to the server so far.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

func (p *Proxy) closeAllLocked() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// admit decides the fate of a connection just accepted: closed at once (cut), kept
// open and never answered (stalled), or forwarded from the stall generation it
// returns.
func (p *Proxy) admit(c net.Conn) (forward bool, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.admits.Add(1)
	if !p.up {
		c.Close()
		return false, 0
	}
	p.conns[c] = struct{}{}
	return !p.stalled, p.gen
}

// connect dials the server for c, a connection of stall generation gen, and tracks
// the new connection, unless the proxy was cut or stalled meanwhile: c is then closed
// already (cut), or parked (stalled) as if it had come during the stall.
func (p *Proxy) connect(c net.Conn, gen uint64) net.Conn {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up || p.stalled || p.gen != gen {
		s.Close()
		return nil
	}
	p.conns[s] = struct{}{}
	return s
}

// forwarding reports whether a pipe of stall generation gen may forward: a pipe that
// was open during a stall never does again (Restore closes it).
func (p *Proxy) forwarding(gen uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.stalled && p.gen == gen
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		forward, gen := p.admit(c)
		if !forward {
			continue // closed (cut), or parked until Restore or the cleanup closes it (stalled)
		}
		s := p.connect(c, gen)
		if s == nil {
			continue
		}
		p.wg.Add(2)
		go p.pipe(s, c, gen, &p.sent)
		go p.pipe(c, s, gen, nil)
	}
}

// pipe copies from src to dst until either fails, then closes both. What it reads
// during a stall, or after one, is swallowed: a hung server answers nothing.
func (p *Proxy) pipe(dst, src net.Conn, gen uint64, count *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.forwarding(gen) {
			if count != nil {
				count.Add(int64(n))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil { // EOF, or a connection closed by Cut or Restore
			break
		}
	}
	src.Close()
	dst.Close()
}
