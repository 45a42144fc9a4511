package typedsession

import "net/http"

// Handler is the middleware that gives each request its session: r.Use(m.Handler) in
// chi. It does no I/O itself: the session is loaded on first use, and saved (created,
// updated, touched or deleted, with its cookie set) just before the first byte of the
// response, or after the handler if it writes nothing. A request that never asks for
// its session costs no store call, and a session never changed is never stored.
//
// If a session operation fails during the request (the store is down, the session
// could not be saved), the response is written by Options.ErrorHandler instead of the
// handler, so that a failure is never mistaken for "no session".
func (m *Manager[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &session[T]{ResponseWriter: w, Context: r.Context(), m: m}
		r = r.WithContext(s)
		s.r = r
		next.ServeHTTP(s, r)
		if !s.started {
			s.commit()
		}
	})
}

// WriteHeader commits the session, then writes the header.
func (s *session[T]) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		s.ResponseWriter.WriteHeader(code) // informational: the real header comes later
		return
	}
	if !s.started {
		s.commit()
	}
	if !s.failed {
		s.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b.
func (s *session[T]) Write(b []byte) (int, error) {
	if !s.started {
		s.commit()
	}
	if s.failed {
		return 0, errReplaced
	}
	return s.ResponseWriter.Write(b)
}

// Flush commits the session, then flushes the response.
func (s *session[T]) Flush() { _ = s.FlushError() }

// FlushError commits the session, then flushes the response.
func (s *session[T]) FlushError() error {
	if !s.started {
		s.commit()
	}
	if s.failed {
		return errReplaced
	}
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for [http.ResponseController].
func (s *session[T]) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// commit saves the session before the response starts and sets its token on the
// response, or hands a failure to the ErrorHandler.
func (s *session[T]) commit() {
	m := s.m
	s.mu.Lock()
	s.started = true
	ctx := s.r.Context()
	if s.loaded && s.err == nil {
		if s.dirty || s.renew {
			_ = s.save(ctx, false)
		} else {
			_ = s.touch(ctx)
		}
	}
	err := s.err
	if err == nil {
		s.writeToken()
	}
	s.mu.Unlock()
	if err != nil {
		s.failed = true
		m.opts.Logger.ErrorContext(ctx, "typedsession: session failure", "err", err, "method", s.r.Method, "path", s.r.URL.Path)
		m.opts.ErrorHandler(s.ResponseWriter, s.r, err)
	}
}
