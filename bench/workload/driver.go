package workload

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// Layer is a session library as the workload drives it: its middleware and three
// operations on the Profile of the current request. It is small enough to fit our
// Manager, scs and gorilla/sessions alike. Read, IncrCounter and New are called inside
// Middleware.
type Layer struct {
	// Middleware is the library's middleware, in front of every route.
	Middleware func(http.Handler) http.Handler
	// Read returns the request's Profile.
	Read func(r *http.Request) (Profile, error)
	// IncrCounter increments the Counter of the request's Profile, saves it and returns
	// the new Counter. It is called before any byte of the response is written.
	IncrCounter func(w http.ResponseWriter, r *http.Request) (int, error)
	// New stores p as a fresh session, so that the response sets a cookie.
	New func(w http.ResponseWriter, r *http.Request, p Profile) error
	// ServerSide reports that the session lives on a server: writes through one cookie
	// accumulate, and the driver checks after timing that none was lost. A client-side
	// session (a sealed cookie) answers every write on the seeded cookie with Counter+1.
	ServerSide bool
	// StoreCalls, if set, returns the number of store calls made so far. The driver
	// reports it per request as store-calls/op.
	StoreCalls func() int64
	// Lazy reports that the library promises no store call for a request that never
	// asks for its session: the driver then fails op=untouched unless StoreCalls stays put.
	Lazy bool
}

// Config is what a Backend is opened with.
type Config struct {
	// IdleTimeout is 30 minutes for op=idle-read and 0 otherwise.
	IdleTimeout time.Duration
	// Profile is the payload of the run (the canonical Profile or a Sized one).
	Profile Profile
}

// Backend is one session library on one store, as a benchmark case.
type Backend struct {
	// Name is the value of the backend= element of the benchmark name.
	Name string
	// Open returns a fresh Layer for cfg: its own key prefix, table or keys, removed by
	// tb.Cleanup. It calls testenv.Unavailable (skip, or fail under CI) when the server
	// it needs cannot be reached.
	Open func(tb testing.TB, cfg Config) Layer
}

// Op is one of the five requests.
type Op string

// The five requests of the workload.
const (
	OpRead      Op = "read"      // GET /read with a session cookie: 200, body = Name
	OpWrite     Op = "write"     // POST /write with a session cookie: Counter++, 200, body = Counter
	OpNew       Op = "new"       // POST /new, no cookie: a fresh Profile, 200, Set-Cookie
	OpIdleRead  Op = "idle-read" // as read, with a 30-minute idle timeout
	OpUntouched Op = "untouched" // GET /health with a session cookie: never asks for the session
)

// Ops lists the five requests.
var Ops = []Op{OpRead, OpWrite, OpNew, OpIdleRead, OpUntouched}

// Mode is how requests are issued.
type Mode string

// Modes: one goroutine on session 0, or b.RunParallel with goroutine g on session g mod 64.
const (
	Seq Mode = "seq"
	Par Mode = "par"
)

// Modes lists both modes.
var Modes = []Mode{Seq, Par}

// Sessions is the number of sessions seeded before timing.
const Sessions = 64

// IdleTimeout is the idle timeout of op=idle-read.
const IdleTimeout = 30 * time.Minute

// Fixture is one backend opened for one op: its router and its seeded sessions.
type Fixture struct {
	layer   Layer
	op      Op
	p       Profile
	router  http.Handler
	cookies [Sessions]string // Cookie header values
}

// Bench runs be on ops under b, as sub-benchmarks op=.../mode=..., in the given modes
// (default: both).
func Bench(b *testing.B, be Backend, ops []Op, p Profile, modes ...Mode) {
	if len(modes) == 0 {
		modes = Modes
	}
	for _, op := range ops {
		b.Run("op="+string(op), func(b *testing.B) {
			fx := Setup(b, be, op, p)
			for _, mode := range modes {
				b.Run("mode="+string(mode), func(b *testing.B) { fx.Run(b, mode) })
			}
		})
	}
}

// Setup opens be for op with payload p, builds the router and seeds Sessions sessions
// through the library itself. Call it once per op, outside the timed sub-benchmarks.
func Setup(tb testing.TB, be Backend, op Op, p Profile) *Fixture {
	tb.Helper()
	cfg := Config{Profile: p}
	if op == OpIdleRead {
		cfg.IdleTimeout = IdleTimeout
	}
	fx := &Fixture{layer: be.Open(tb, cfg), op: op, p: p}
	fx.router = newRouter(fx.layer, p)
	for i := range fx.cookies {
		rec := httptest.NewRecorder()
		fx.router.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/new", nil))
		cs := rec.Result().Cookies()
		if rec.Code != http.StatusOK || len(cs) == 0 {
			tb.Fatalf("%s: seeding POST /new = %d %q, Set-Cookie %q; want 200 and a cookie",
				be.Name, rec.Code, rec.Body.String(), rec.Header().Values("Set-Cookie"))
		}
		fx.cookies[i] = cs[0].Name + "=" + cs[0].Value
	}
	return fx
}

func newRouter(l Layer, p Profile) http.Handler {
	r := chi.NewRouter()
	r.Use(l.Middleware)
	read := func(w http.ResponseWriter, r *http.Request) {
		got, err := l.Read(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, got.Name)
	}
	r.Get("/read", read)
	r.Post("/write", func(w http.ResponseWriter, r *http.Request) {
		n, err := l.IncrCounter(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var buf [20]byte
		w.Write(strconv.AppendInt(buf[:0], int64(n), 10))
	})
	r.Post("/new", func(w http.ResponseWriter, r *http.Request) {
		if err := l.New(w, r, p); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	// /counter is for the driver's checks, never timed.
	r.Get("/counter", func(w http.ResponseWriter, r *http.Request) {
		got, err := l.Read(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var buf [20]byte
		w.Write(strconv.AppendInt(buf[:0], int64(got.Counter), 10))
	})
	return r
}

// counter returns the Counter of session s, read through the library.
func (fx *Fixture) counter(s int) (int, error) {
	req := httptest.NewRequest(http.MethodGet, "/counter", nil)
	req.Header.Set("Cookie", fx.cookies[s])
	rec := httptest.NewRecorder()
	fx.router.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return 0, fmt.Errorf("GET /counter = %d %q", rec.Code, rec.Body.String())
	}
	return strconv.Atoi(rec.Body.String())
}

// request returns the request of the fixture's op on session s, built once and reused.
func (fx *Fixture) request(s int) *http.Request {
	var req *http.Request
	switch fx.op {
	case OpRead, OpIdleRead:
		req = httptest.NewRequest(http.MethodGet, "/read", nil)
	case OpWrite:
		req = httptest.NewRequest(http.MethodPost, "/write", nil)
	case OpNew:
		return httptest.NewRequest(http.MethodPost, "/new", nil)
	case OpUntouched:
		req = httptest.NewRequest(http.MethodGet, "/health", nil)
	default:
		panic("workload: unknown op " + string(fx.op))
	}
	req.Header.Set("Cookie", fx.cookies[s])
	return req
}

// checker verifies every response of one goroutine.
type checker struct {
	fx     *Fixture
	name   []byte
	last   int // server side: the last Counter seen on this goroutine's session
	writes int
}

func (c *checker) check(rec *httptest.ResponseRecorder) error {
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		return fmt.Errorf("op=%s: status %d, body %q; want 200", c.fx.op, rec.Code, body)
	}
	switch c.fx.op {
	case OpRead, OpIdleRead:
		if !bytes.Equal(body, c.name) {
			return fmt.Errorf("op=%s: body %q, want %q", c.fx.op, body, c.name)
		}
	case OpWrite:
		n, err := strconv.Atoi(string(body))
		switch {
		case err != nil:
			return fmt.Errorf("op=write: body %q is not a Counter", body)
		case c.fx.layer.ServerSide && n <= c.last:
			return fmt.Errorf("op=write: Counter %d after %d; want it to grow", n, c.last)
		case !c.fx.layer.ServerSide && n != c.fx.p.Counter+1:
			return fmt.Errorf("op=write: Counter %d, want %d", n, c.fx.p.Counter+1)
		}
		c.last = n
		c.writes++
	case OpNew:
		if len(rec.Header()["Set-Cookie"]) == 0 {
			return fmt.Errorf("op=new: no Set-Cookie")
		}
	case OpUntouched:
		if string(body) != "ok" {
			return fmt.Errorf("op=untouched: body %q, want %q", body, "ok")
		}
	}
	return nil
}

// Run measures the fixture's op in mode. Every response is checked; after timing, each
// server-side session's Counter must have grown by exactly the writes made to it.
func (fx *Fixture) Run(b *testing.B, mode Mode) {
	var before [Sessions]int
	verify := fx.op == OpWrite && fx.layer.ServerSide
	if verify {
		for s := range before {
			n, err := fx.counter(s)
			if err != nil {
				b.Fatalf("before timing: session %d: %v", s, err)
			}
			before[s] = n
		}
	}
	var writes [Sessions]atomic.Int64
	var calls0 int64
	if fx.layer.StoreCalls != nil {
		calls0 = fx.layer.StoreCalls()
	}
	b.ReportAllocs()
	switch mode {
	case Seq:
		req := fx.request(0)
		c := checker{fx: fx, name: []byte(fx.p.Name), last: before[0]}
		b.ResetTimer()
		for b.Loop() {
			rec := httptest.NewRecorder()
			fx.router.ServeHTTP(rec, req)
			if err := c.check(rec); err != nil {
				b.Fatal(err)
			}
		}
		writes[0].Add(int64(c.writes))
	case Par:
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			s := int(next.Add(1)-1) % Sessions
			req := fx.request(s)
			c := checker{fx: fx, name: []byte(fx.p.Name), last: before[s]}
			defer func() { writes[s].Add(int64(c.writes)) }()
			for pb.Next() {
				rec := httptest.NewRecorder()
				fx.router.ServeHTTP(rec, req)
				if err := c.check(rec); err != nil {
					b.Error(err) // b.Fatal may not be called off the benchmark goroutine
					return
				}
			}
		})
	default:
		b.Fatalf("workload: unknown mode %q", mode)
	}
	b.StopTimer()
	if fx.layer.StoreCalls != nil {
		calls := fx.layer.StoreCalls() - calls0
		b.ReportMetric(float64(calls)/float64(b.N), "store-calls/op")
		if fx.op == OpUntouched && fx.layer.Lazy && calls != 0 {
			b.Fatalf("op=untouched made %d store calls in %d requests; want 0", calls, b.N)
		}
	}
	if verify && !b.Failed() {
		for s := range before {
			n, err := fx.counter(s)
			if err != nil {
				b.Fatalf("after timing: session %d: %v", s, err)
			}
			if want := before[s] + int(writes[s].Load()); n != want {
				b.Fatalf("after timing: session %d Counter = %d, want %d (%d before + %d writes): a write was lost",
					s, n, want, before[s], writes[s].Load())
			}
		}
	}
}

// SizeCase is a backend and the payload sizes to sweep on it.
type SizeCase struct {
	Backend Backend
	Sizes   []Size
}

// BenchSizes measures read and write, sequentially, at each size of each case: how cost
// grows with the session. The parallel rows would add nothing to that.
func BenchSizes(b *testing.B, cases []SizeCase) {
	for _, c := range cases {
		b.Run("backend="+c.Backend.Name, func(b *testing.B) {
			for _, size := range c.Sizes {
				b.Run("size="+size.Name, func(b *testing.B) {
					Bench(b, c.Backend, []Op{OpRead, OpWrite}, Sized(size), Seq)
				})
			}
		})
	}
}
