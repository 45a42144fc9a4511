package compat

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// countingFile is the *os.File http.ServeContent serves, counting the bytes read from
// it in user space. It passes on SyscallConn, which is what net.TCPConn.ReadFrom needs
// to hand the file to sendfile(2): bytes that reach the client without passing
// through Read were copied by the kernel.
type countingFile struct {
	f    *os.File
	read *atomic.Int64
}

func (c countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.read.Add(int64(n))
	return n, err
}
func (c countingFile) Seek(off int64, whence int) (int64, error) { return c.f.Seek(off, whence) }
func (c countingFile) SyscallConn() (syscall.RawConn, error)     { return c.f.SyscallConn() }

var _ syscall.Conn = countingFile{}

// TestServeContentRange serves a Range request with http.ServeContent from a handler
// that changed the session first: 206 with the right Content-Range and bytes, the new
// session's cookie, the session saved, and the body sent by sendfile: all but the
// first bytes (which net/http copies itself before it switches to the connection's
// ReadFrom) never pass through a Read of the file, so the writer's ReadFrom reached
// the connection's.
func TestServeContentRange(t *testing.T) {
	content := make([]byte, 64<<10)
	for i := range content {
		content[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	m := newManager(t)
	var read atomic.Int64
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/state", stateHandler(m))
	r.Get("/data.bin", func(w http.ResponseWriter, r *http.Request) {
		if err := note(m, r, "served"); err != nil {
			return
		}
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream") // no sniffing read
		http.ServeContent(w, r, "data.bin", time.Time{}, countingFile{f, &read})
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	const first, last = 1000, 40999
	resp, body := do(t, srv.Client(), "GET", srv.URL+"/data.bin", nil, header("Range", "bytes=1000-40999"))
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 1000-40999/65536"; got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if !bytes.Equal([]byte(body), content[first:last+1]) {
		t.Errorf("body: %d bytes, not bytes %d-%d of the file", len(body), first, last)
	}
	if n := read.Load(); n > 4096 {
		t.Errorf("%d of the %d bytes were read from the file in user space; want all but net/http's first 512 sent by sendfile", n, last-first+1)
	}
	cookie := sessionCookie(resp)
	if cookie == nil {
		t.Fatalf("the 206 sets %q; want the new session's cookie", resp.Header.Values("Set-Cookie"))
	}
	if got := stateOf(t, srv.Client(), srv.URL, cookie); got != "1 served" {
		t.Errorf("the session is %q; want %q", got, "1 served")
	}
}

var _ io.ReadSeeker = countingFile{}
