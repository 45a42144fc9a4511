// Command ferretdb runs FerretDB, a MongoDB wire-protocol server, on a loopback
// address with its SQLite handler, as the MongoDB server of typedsession's tests
// on machines where MongoDB itself cannot be installed.
//
//	ferretdb [-listen 127.0.0.1:27017] [-dir DIR] [-log error|warn|info|debug]
//	ferretdb -ping mongodb://127.0.0.1:27017 [-timeout 2s]
//
// Without -dir the data lives in a fresh temporary directory that is removed on
// exit. FerretDB logs every command that fails (a duplicate key, say) as a
// warning with the whole response, so by default only its errors are logged.
// The server stops on SIGINT or SIGTERM. With -ping the command serves
// nothing: it connects to the URL with the MongoDB Go driver, runs the ping
// command and exits 0 if the server answered, 1 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// An embedded FerretDB reports its version as "unknown" (a build of FerretDB's
// own command reads it from a generated file); report the module's version, so
// that buildInfo's ferretdbVersion tells which FerretDB a test runs against.
func init() {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/FerretDB/FerretDB" {
				version.Get().Version = d.Version
			}
		}
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ferretdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:27017", "loopback `host:port` to serve on")
	dir := fs.String("dir", "", "data `directory` (default: a fresh temporary directory, removed on exit)")
	var level slog.Level = slog.LevelError
	fs.TextVar(&level, "log", level, "the least `level` of FerretDB's messages to log: error, warn (every failed command), info or debug")
	ping := fs.String("ping", "", "serve nothing: ping the MongoDB server at `URL` and exit 0 if it answers, 1 if not")
	timeout := fs.Duration("timeout", 2*time.Second, "with -ping, how long to wait for the answer")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ferretdb: unexpected arguments %q\n", fs.Args())
		return 2
	}

	if *ping != "" {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		if err := Ping(ctx, *ping); err != nil {
			fmt.Fprintf(stderr, "ferretdb: ping %s: %v\n", *ping, err)
			return 1
		}
		return 0
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, *dir, logger, stderr); err != nil {
		fmt.Fprintf(stderr, "ferretdb: %v\n", err)
		return 1
	}
	return 0
}

// serve runs FerretDB on addr until ctx is done.
func serve(ctx context.Context, addr, dir string, logger *slog.Logger, stderr io.Writer) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "typedsession-ferretdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	s, err := Start(addr, dir, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ferretdb: serving %s (SQLite files in %s)\n", s.URI, s.Dir)
	err = s.Run(ctx)
	fmt.Fprintln(stderr, "ferretdb: stopped")
	return err
}

// Server is a FerretDB that listens and has not run yet.
type Server struct {
	// URI is the MongoDB connection string of the server, such as
	// mongodb://127.0.0.1:27017/.
	URI string
	// Dir is the absolute path of the directory of the SQLite files.
	Dir string

	f *ferretdb.FerretDB
}

// Start opens the listener of a FerretDB serving on addr, which must be a
// loopback address (port 0 picks a free port), with the SQLite files in dir,
// which is created if missing. The caller must call Run: connections are
// accepted only while it runs.
func Start(addr, dir string, logger *slog.Logger) (*Server, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: addr},
		Logger:   logger,
		Handler:  "sqlite",
		// FerretDB puts SQLite in WAL mode. synchronous(normal) makes a commit return
		// without waiting for fsync (a crash of the machine may lose the last commits,
		// never corrupt a file: nothing a test server keeps matters after it), so
		// that concurrent writers, which take SQLite's one write lock in turn, do not
		// queue behind fsyncs.
		SQLiteURL: (&url.URL{Scheme: "file", Path: abs + "/", RawQuery: "_pragma=synchronous(normal)"}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("start FerretDB on %s: %w", addr, err)
	}
	return &Server{URI: f.MongoDBURI(), Dir: abs, f: f}, nil
}

// Run serves until ctx is done, then closes the listener and waits for the
// open connections (FerretDB gives them up to 3 s) and closes the SQLite files.
func (s *Server) Run(ctx context.Context) error {
	return s.f.Run(ctx)
}

// checkLoopback refuses an address that would serve beyond this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-listen %q: the host must be a loopback address (127.0.0.1, ::1 or localhost)", addr)
}

// Ping connects to the MongoDB server at uri and runs the ping command on the
// primary, within ctx's deadline.
func Ping(ctx context.Context, uri string) (err error) {
	opts := options.Client().ApplyURI(uri)
	if deadline, ok := ctx.Deadline(); ok {
		// Without this the driver waits its default 30 s for a server to select.
		opts.SetServerSelectionTimeout(time.Until(deadline))
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return err
	}
	defer func() {
		// Disconnect may wait for the connections in use; a ping has none left.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		err = errors.Join(err, client.Disconnect(dctx))
	}()
	return client.Ping(ctx, readpref.Primary())
}
