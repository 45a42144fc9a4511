package typedsession

import (
	"bufio"
	"context"
	"errors"
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
// then stands if its status is not a 2xx; a 2xx would present a lost change as a
// success, so the ErrorHandler replaces it. When the ErrorHandler answers, no cookie is
// set or cleared.
//
// # The writer
//
// The ResponseWriter the handler gets commits the session before the response starts
// and passes everything else through. It has the methods of net/http's own writer
// whatever it wraps: Flush, Hijack (which commits first: a hijacked connection has no
// more headers to set), ReadFrom (so that http.ServeContent and io.Copy keep using
// sendfile), WriteString and Push; where the wrapped writer lacks one, the call fails
// with [http.ErrNotSupported] (http.ErrNotSupported is also what http.Hijacker users
// get from an HTTP/2 connection). Unwrap gives [http.ResponseController] the wrapped
// writer.
//
// For a WebSocket upgrade with gorilla/websocket, which writes its own 101 response
// from the header it is given, pass the writer's header so that the session cookie
// reaches the client: upgrader.Upgrade(w, r, w.Header()).
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
		next.ServeHTTP(s, s.r)
		if !s.started {
			s.commit(http.StatusOK)
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

// commit saves the session before the response starts, with code the status the
// handler is about to send, and sets its token on the response, or hands a failure to
// the ErrorHandler.
func (s *session[T]) commit(code int) {
	m := s.m
	s.mu.Lock()
	s.started = true
	ctx := s.r.Context()
	if s.state != unloaded {
		_ = s.save(ctx, false)
	}
	err := s.failure()
	handled := err != nil && s.handed && (code < 200 || code > 299)
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
		s.commit(code)
	}
	if !s.failed {
		s.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b.
func (s *session[T]) Write(b []byte) (int, error) {
	if !s.started {
		s.commit(http.StatusOK)
	}
	if s.failed {
		return 0, errReplaced
	}
	return s.ResponseWriter.Write(b)
}

// WriteString commits the session, then writes str.
func (s *session[T]) WriteString(str string) (int, error) {
	if !s.started {
		s.commit(http.StatusOK)
	}
	if s.failed {
		return 0, errReplaced
	}
	return io.WriteString(s.ResponseWriter, str)
}

// ReadFrom commits the session, then copies src to the response, through the wrapped
// writer's ReadFrom (sendfile for a file) where it has one.
func (s *session[T]) ReadFrom(src io.Reader) (int64, error) {
	if !s.started {
		s.commit(http.StatusOK)
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

// FlushError commits the session, then flushes the response.
func (s *session[T]) FlushError() error {
	if !s.started {
		s.commit(http.StatusOK)
	}
	if s.failed {
		return errReplaced
	}
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Hijack commits the session, then takes over the connection, for a protocol upgrade.
// The session's cookie is in Header() by then, for an upgrader that writes its own
// response from it.
func (s *session[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !s.started {
		s.commit(http.StatusSwitchingProtocols)
	}
	if s.failed {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Push initiates an HTTP/2 server push where the wrapped writer supports it.
func (s *session[T]) Push(target string, opts *http.PushOptions) error {
	if p, ok := s.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
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
