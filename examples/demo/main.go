// Command demo is a small shop with typed sessions: fill a cart, log in on several
// devices, sign them out, and see the session as the server keeps it (the cookie, the
// stored record, its version and expiry) on every page.
//
//	go run ./examples/demo                  # memstore, http://127.0.0.1:8080
//	STORE=redis go run ./examples/demo      # Redis at REDIS_ADDR (default 127.0.0.1:6379)
//	STORE=postgres go run ./examples/demo   # PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test)
//	STORE=mongo go run ./examples/demo      # MongoDB at MONGO_URL (default mongodb://127.0.0.1:27017; .ci/mongo start runs FerretDB there)
//	STORE=cookie go run ./examples/demo     # the whole session sealed in the cookie (key: COOKIE_KEY)
//
// It serves plain http, on a loopback address only, so the cookie is not Secure
// (Options.Insecure). -addr 127.0.0.1:0 picks a free port; the log says which.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address, on loopback only (127.0.0.1:0 picks a free port)")
	flag.Parse()
	if err := run(*addr, os.Getenv("STORE")); err != nil {
		log.Fatal(err)
	}
}

// run serves the demo on addr over the store kind until SIGINT or SIGTERM.
func run(addr, kind string) error {
	if err := checkLoopback(addr); err != nil {
		return err
	}
	st, closeStore, err := openStore(kind)
	if err != nil {
		return err
	}
	defer closeStore()
	h, _, err := newApp(kind, st, slog.Default())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: -addr: %w", err)
	}
	srv := newServer(h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(shut)
	}()
	log.Printf("demo: serving http://%s (sessions in %s)", ln.Addr(), describeStore(kind))
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// newServer returns the demo's server: every phase of a request is bounded, so a slow
// client cannot hold a connection, and the 2-second store budget of a request fits
// well within its WriteTimeout.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

// checkLoopback refuses a listen address that is not on loopback: the demo serves
// plain http, with a session cookie that is not Secure.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("demo: -addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("demo: -addr %q: the demo listens on a loopback address only (127.0.0.1, [::1] or localhost): it serves plain http with a session cookie that is not Secure", addr)
}
