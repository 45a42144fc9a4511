package typedsession

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
)

// Handler is the middleware that gives each request its session: r.Use(m.Handler) in
// chi. It does no I/O itself: the session is loaded on first use, and saved (created,
// updated, touched or ended, with its cookie set) just before the first byte of the
// response, or after the handler if it writes nothing. A request that never asks for
// its session costs no store call, and a session never changed is never stored.
//
// # When the ErrorHandler answers instead of the handler
//
// A session failure is never mistaken for "no session". When loading the session
// fails (the store is down or too slow, or another request ended the session), or
// saving it before the first byte fails (the store, a conflict that retries could not
// resolve, a value too large for its store), the response is written by
// Options.ErrorHandler and what the handler writes is discarded, even if the handler
// ignored the error, with one exception: a failure that [Manager.Commit] or
// [Manager.Swap] returned belongs to the handler, which answers it. Its own response
// then stands if its status is 300 or more; a 2xx, or the 101 of a protocol upgrade,
// would present a lost change as a success, so the ErrorHandler replaces it. When the
// ErrorHandler answers, no cookie is set or cleared.
//
// # Cookies and caches
//
// The token goes on the response when the client's copy must change: a new session or
// token, a remember-me cookie whose Max-Age moved, and a token that refers to no session
// (destroyed, revoked, expired or unknown), which is cleared so that the client stops
// sending it. Every response that used the session says Vary: Cookie (or the token's
// header). A response that sets or clears a token says Cache-Control: no-store, and so
// does every response that shows a live session unless the handler set a Cache-Control
// of its own: a private page must stay out of shared caches and out of the browser's
// back-and-forward cache after a logout. A response that never asked for its session
// is left alone.
//
// # The writer
//
// The ResponseWriter the handler gets commits the session before the response starts
// and passes everything else through. Whatever it wraps, it implements the interfaces
// that net/http's own writers (HTTP/1.1 and HTTP/2) implement, but for the deprecated
// http.CloseNotifier (the request's context replaces it): io.StringWriter;
// io.ReaderFrom, through the wrapped writer's ReadFrom where it has one, so that
// http.ServeContent, http.ServeFile and io.Copy keep using sendfile; http.Flusher, and
// FlushError; http.Hijacker, whose Hijack commits first (a hijacked connection has no
// more headers to set); and http.Pusher. Flush, FlushError, Hijack and Push reach the
// first writer down the chain of Unwrap methods that has them, as
// [http.ResponseController] does. Where none has, FlushError, Hijack and Push fail with
// an error that wraps [http.ErrNotSupported] (what ResponseController.Hijack returns on
// an HTTP/2 connection), Flush does nothing, and none of them commits the session. The
// deadlines and EnableFullDuplex, which net/http offers through ResponseController
// only, reach the wrapped writer through Unwrap.
//
// For a WebSocket upgrade with gorilla/websocket, which writes its own 101 response
// from the header it is given after it hijacks the connection, pass the writer's
// header, so that the session cookie that Hijack puts there reaches the client:
// upgrader.Upgrade(w, r, w.Header()). Upgraders that write the 101 through the writer
// (coder/websocket) need nothing.
//
// # Failed and abandoned requests
//
// A response with a 5xx status saves none of the changes the request has not saved
// yet, and sets no cookie for them: the request failed, and the session stays as it
// was (Django's session middleware does the same). Neither does a handler that
// returns without a response after its request's context is done (a timeout
// middleware installed before this one gave up on it, or the client went away), nor
// a panic that unwinds through this middleware; after a panic the ErrorHandler is not
// called, as whoever recovers it answers. What the request already stored stands and
// its cookie is still set: a session that [Manager.Commit] or [Manager.Swap] saved, a
// session that [Manager.Destroy] ended. So chi's Recoverer and Timeout, installed
// before or after this middleware, leave a session changed before a recovered panic
// (500) or a timeout (504) as it was.
//
// A request whose context already carries a session of this Manager (from
// [Manager.WithSession], or this Handler installed twice) is served with that session.
func (m *Manager[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.current(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		s := &session[T]{ResponseWriter: w, Context: r.Context(), m: m}
		s.req = withContext(r, s)
		s.r = &s.req
		defer func() {
			if !s.started {
				s.abandon() // the handler panicked
			}
		}()
		next.ServeHTTP(s, s.r)
		if !s.started {
			// A done context: a timeout before this middleware gave up on the
			// request, or the client went away. Its changes are not saved.
			s.commit(http.StatusOK, s.Context.Err() == nil)
		}
	})
}

// withContext returns a copy of r whose context is ctx, by value: the request the
// handler sees lives in its session, one allocation for both (the untouched request's
// only one). It is a function of its own so that WithContext inlines here and its
// copy stays on the stack.
func withContext(r *http.Request, ctx context.Context) http.Request {
	return *r.WithContext(ctx)
}

// abandon finishes a request whose handler panicked before its response started.
// Whoever recovers the panic answers, if anyone does. Nothing the request changed is
// saved and the ErrorHandler is not called; what the request already stored (Commit,
// Swap, Destroy) still gets its cookie in the header. A panic that struck while the
// session was locked leaves it alone.
func (s *session[T]) abandon() {
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	s.started = true
	if err := s.failure(); err != nil {
		s.m.opts.Logger.Log(s.r.Context(), slogLevel(err), "typedsession: session failure in an abandoned request", "err", err, "method", s.r.Method, "path", s.r.URL.Path)
		return
	}
	s.writeToken()
}

// commit saves the session before the response starts, with code the status the
// handler is about to send, and sets its token on the response, or hands a failure to
// the ErrorHandler. Without save, the changes the request has not saved yet are
// dropped.
func (s *session[T]) commit(code int, save bool) {
	m := s.m
	s.mu.Lock()
	s.started = true
	ctx := s.r.Context()
	if s.state != unloaded && save {
		_ = s.save(ctx, false)
	}
	err := s.failure()
	handled := err != nil && s.handed && code >= 300
	if err == nil {
		s.writeToken()
	}
	s.mu.Unlock()
	if err == nil || handled {
		return
	}
	s.failed = true
	level := slogLevel(err)
	m.opts.Logger.Log(ctx, level, "typedsession: session failure", "err", err, "method", s.r.Method, "path", s.r.URL.Path)
	m.opts.ErrorHandler(s.ResponseWriter, s.r, err)
}

// WriteHeader commits the session, then writes the header.
func (s *session[T]) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		s.ResponseWriter.WriteHeader(code) // informational: the real header comes later
		return
	}
	if !s.started {
		s.commit(code, code < 500)
	}
	if !s.failed {
		s.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b.
func (s *session[T]) Write(b []byte) (int, error) {
	if !s.started {
		s.commit(http.StatusOK, true)
	}
	if s.failed {
		return 0, errReplaced
	}
	return s.ResponseWriter.Write(b)
}

// WriteString commits the session, then writes str.
func (s *session[T]) WriteString(str string) (int, error) {
	if !s.started {
		s.commit(http.StatusOK, true)
	}
	if s.failed {
		return 0, errReplaced
	}
	return io.WriteString(s.ResponseWriter, str)
}

// ReadFrom commits the session, then copies src to the response, through the wrapped
// writer's ReadFrom (sendfile for a file) where it has one. It does not look further
// down the chain: a writer that has no ReadFrom but transforms what is written (a
// compressor) must see every byte.
func (s *session[T]) ReadFrom(src io.Reader) (int64, error) {
	if !s.started {
		s.commit(http.StatusOK, true)
	}
	if s.failed {
		return 0, errReplaced
	}
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{s.ResponseWriter}, src)
}

// writerOnly hides every method of a writer but Write, so that io.Copy does not call
// ReadFrom back.
type writerOnly struct{ io.Writer }

// Flush commits the session, then flushes the response.
func (s *session[T]) Flush() { _ = s.FlushError() }

// FlushError commits the session, then flushes the response. Where no writer down the
// chain can flush, it fails with their error and commits nothing.
func (s *session[T]) FlushError() error {
	rc := http.NewResponseController(s.ResponseWriter)
	if !s.started {
		if !canFlush(s.ResponseWriter) {
			return rc.Flush()
		}
		s.commit(http.StatusOK, true)
	}
	if s.failed {
		return errReplaced
	}
	return rc.Flush()
}

// canFlush reports whether [http.ResponseController] finds a flush down the chain
// that starts at w.
func canFlush(w http.ResponseWriter) bool {
	if _, ok := find[http.Flusher](w); ok {
		return true
	}
	_, ok := find[interface{ FlushError() error }](w)
	return ok
}

// Hijack commits the session, then takes over the connection, for a protocol upgrade.
// The session's cookie is in Header() by then, for an upgrader that writes its own
// response from it. Where no writer down the chain can hijack (HTTP/2), Hijack fails
// with their error and commits nothing: the handler can still answer.
func (s *session[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rc := http.NewResponseController(s.ResponseWriter)
	if !s.started {
		if _, ok := find[http.Hijacker](s.ResponseWriter); !ok {
			return rc.Hijack()
		}
		s.commit(http.StatusSwitchingProtocols, true)
	}
	if s.failed {
		return nil, nil, errReplaced
	}
	return rc.Hijack()
}

// Push initiates an HTTP/2 server push, through the first writer down the chain that
// can.
func (s *session[T]) Push(target string, opts *http.PushOptions) error {
	if p, ok := find[http.Pusher](s.ResponseWriter); ok {
		return p.Push(target, opts)
	}
	return fmt.Errorf("typedsession: push: %w", http.ErrNotSupported)
}

// find returns the first writer in the chain that starts at w and follows Unwrap
// methods that implements I, as [http.ResponseController] looks for a method.
func find[I any](w http.ResponseWriter) (I, bool) {
	for {
		if i, ok := w.(I); ok {
			return i, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			var zero I
			return zero, false
		}
		w = u.Unwrap()
	}
}

// Unwrap returns the underlying ResponseWriter, for [http.ResponseController].
func (s *session[T]) Unwrap() http.ResponseWriter { return s.ResponseWriter }

var (
	_ http.Flusher    = (*session[int])(nil)
	_ http.Hijacker   = (*session[int])(nil)
	_ http.Pusher     = (*session[int])(nil)
	_ io.ReaderFrom   = (*session[int])(nil)
	_ io.StringWriter = (*session[int])(nil)
)

// slogLevel is the level at which a session failure is logged: a race lost to another
// request is part of normal operation, a broken store is not.
func slogLevel(err error) slog.Level {
	if errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrConflict) {
		return slog.LevelInfo
	}
	return slog.LevelError
}
