package typedsession

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errReplaced is what a handler's Write returns after a session failure made the
// ErrorHandler write the response instead.
var errReplaced = errors.New("typedsession: the response was replaced by Options.ErrorHandler after a session failure")

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

// save writes a changed session: creates it, renews it, or updates it with the
// version it was read at, re-applying the request's Update functions after a conflict.
// With late set (the response has started), a change that needs a new token on the
// client is not made, and is reported. Called with s.mu held.
func (s *session[T]) save(ctx context.Context, late bool) error {
	m := s.m
	if !s.dirty && !s.renew {
		return nil
	}
	if late && (!s.found || s.renew) {
		return s.lateError(ErrResponseStarted)
	}
	now := m.now()
	for attempt := 0; ; attempt++ {
		data, err := m.opts.Codec.Marshal(&s.val)
		if err != nil {
			return s.fail(fmt.Errorf("typedsession: encode: %w", err))
		}
		rec := s.rec
		rec.Data = data
		var token string
		if s.found {
			// Update the stored session, only if it is still the one this request read.
			// A renewal ends it that way (its expiry set to now), so that a session
			// destroyed or changed meanwhile is not copied to a new token.
			rec.Version = s.rec.Version + 1
			if rec.Expiry = m.expiry(rec.Created, now); s.renew {
				rec.Expiry = now
			}
			token, err = m.store.Save(ctx, s.token, s.rec.Version, rec)
			if errors.Is(err, ErrConflict) && attempt < m.opts.MaxRetries {
				// Wait first, then reload and save at once: a wait between the read and
				// the write would only widen the window for the next conflict.
				if err := backoff(ctx, attempt); err != nil {
					return s.fail(fmt.Errorf("typedsession: save: %w", err))
				}
				if err := s.reload(ctx); err != nil {
					return err
				}
				if !s.found {
					// Destroyed by another request: logout sticks, this change is dropped.
					m.opts.Logger.InfoContext(ctx, "typedsession: session ended by another request; change dropped")
					s.clear()
					return nil
				}
				continue
			}
		}
		if err == nil && (!s.found || s.renew) {
			// A new session, or the renewed one under a new token.
			if !s.found {
				rec.Created = now
			}
			rec.Owner, rec.Version, rec.Expiry = s.owner, 1, m.expiry(rec.Created, now)
			token, err = m.store.Save(ctx, "", 0, rec)
		}
		if err != nil {
			return s.fail(fmt.Errorf("typedsession: save: %w", err))
		}
		if late && token != s.token {
			return s.lateError(ErrResponseStarted)
		}
		s.token, s.rec, s.found = token, rec, true
		s.dirty, s.renew, s.fns, s.replaced, s.refreshed = false, false, nil, false, true
		return nil
	}
}

// reload reads the session again after a conflict and re-applies the request's changes
// to it. Called with s.mu held.
func (s *session[T]) reload(ctx context.Context) error {
	m := s.m
	rec, found, err := m.store.Load(ctx, s.token)
	if err != nil {
		return s.fail(fmt.Errorf("typedsession: reload after conflict: %w", err))
	}
	if !found || !m.live(rec, m.now()) {
		s.found = false
		return nil
	}
	if !s.replaced {
		var zero T
		s.val = zero
		if err := m.decode(ctx, rec.Data, &s.val); err != nil {
			return s.fail(err)
		}
		for _, fn := range s.fns {
			if err := fn(&s.val); err != nil {
				return s.fail(fmt.Errorf("typedsession: re-applying Update after a conflict: %w", err))
			}
		}
	}
	rec.Persist = s.rec.Persist // this request's RememberMe wins
	s.rec = rec
	return nil
}

// clear makes the request's session a new, empty one whose client token is to be
// cleared. Called with s.mu held.
func (s *session[T]) clear() {
	var zero T
	s.token, s.found, s.val, s.fns, s.replaced, s.dirty, s.renew = "", false, zero, nil, false, false, false
	s.rec, s.owner = Record{Persist: s.m.opts.Persistent}, ""
	s.destroyed = true
}

// backoff waits a random time that grows with attempt, so that requests racing on one
// session spread out.
func backoff(ctx context.Context, attempt int) error {
	d := rand.N(time.Millisecond << min(attempt, 8)) // up to 256ms
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// touch extends the idle deadline of an unchanged session, at most once per
// TouchInterval. Called with s.mu held.
func (s *session[T]) touch(ctx context.Context) error {
	m := s.m
	if !s.found || m.opts.IdleTimeout == 0 {
		return nil
	}
	exp := m.expiry(s.rec.Created, m.now())
	if exp.Sub(s.rec.Expiry) < m.opts.TouchInterval {
		return nil
	}
	rec := s.rec
	rec.Expiry = exp
	token, err := m.store.Touch(ctx, s.token, rec)
	if err != nil {
		return s.fail(fmt.Errorf("typedsession: touch: %w", err))
	}
	s.token, s.rec, s.refreshed = token, rec, true
	return nil
}

// writeToken puts the session's token on the response when the client's copy must
// change. Called with s.mu held.
func (s *session[T]) writeToken() {
	m := s.m
	if !s.loaded {
		return
	}
	h := s.ResponseWriter.Header()
	var value string
	switch {
	case s.token != "" && (s.token != s.client || (s.refreshed && s.rec.Persist)):
		value = s.token
	case s.token == "" && s.destroyed && s.client != "":
		value = "" // clear
	default:
		addVary(h, m.varyOn())
		return
	}
	addVary(h, m.varyOn())
	if m.opts.Header != "" {
		h.Set(m.opts.Header, value)
		return
	}
	h.Add("Set-Cookie", m.setCookie(value, s.rec))
	h.Set("Cache-Control", "no-store")
}

// setCookie returns the Set-Cookie header that gives the client value ("" clears the
// cookie), as net/http would render it. The attributes that never change are rendered
// once, in New.
func (m *Manager[T]) setCookie(value string, rec Record) string {
	if !cookieSafe(value) {
		// Not a token this package or its stores mint: let net/http render (and
		// sanitize) it.
		return m.cookie(value, rec).String()
	}
	var b strings.Builder
	b.Grow(len(m.opts.CookieName) + 1 + len(value) + len(m.attrsPre) + len(m.attrsPost) + 64)
	b.WriteString(m.opts.CookieName)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString(m.attrsPre)
	switch {
	case value == "":
		b.WriteString("; Max-Age=0")
	case rec.Persist:
		var buf [40]byte
		b.WriteString("; Expires=")
		b.Write(rec.Expiry.UTC().AppendFormat(buf[:0], http.TimeFormat))
		b.WriteString("; Max-Age=")
		b.Write(strconv.AppendInt(buf[:0], int64(maxAge(rec.Expiry)), 10))
	}
	b.WriteString(m.attrsPost)
	return b.String()
}

// cookie returns the session cookie that gives the client value.
func (m *Manager[T]) cookie(value string, rec Record) *http.Cookie {
	c := &http.Cookie{
		Name:     m.opts.CookieName,
		Value:    value,
		Path:     m.opts.Path,
		Domain:   m.opts.Domain,
		Secure:   !m.opts.Insecure,
		HttpOnly: true,
		SameSite: m.opts.SameSite,
	}
	switch {
	case value == "":
		c.MaxAge = -1
	case rec.Persist:
		c.Expires = rec.Expiry.UTC()
		c.MaxAge = maxAge(rec.Expiry)
	}
	return c
}

// maxAge returns the Max-Age, in whole seconds rounded up, of a cookie that expires at t.
func maxAge(t time.Time) int {
	return max(1, int((time.Until(t)+time.Second-1)/time.Second))
}

// cookieSafe reports whether v can be a cookie value as it is: base64url and the other
// characters RFC 6265 allows unquoted.
func cookieSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

func (m *Manager[T]) varyOn() string {
	if m.opts.Header != "" {
		return m.opts.Header
	}
	return "Cookie"
}

// addVary adds field to the Vary header unless it is there already.
func addVary(h http.Header, field string) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, field) {
				return
			}
		}
	}
	h.Add("Vary", field)
}
