package typedsession

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed96b21533/typedsession/store"
)

// writeToken puts the session's token on the response when the client's copy must
// change: a new session or token, a remember-me cookie whose Max-Age moved, or a token
// that refers to no session (destroyed, revoked, expired, unknown), which is cleared.
// Every response that used the session varies on the token's header. A response that
// sets or clears a token says Cache-Control: no-store, whichever the transport, so that
// no cache hands it to another client; so does one that shows a live session, unless
// the handler set a Cache-Control of its own. Called with s.mu held.
func (s *session[T]) writeToken() {
	m := s.m
	if s.state == unloaded {
		return
	}
	h := s.ResponseWriter.Header()
	addVary(h, m.varyOn())
	var value string
	switch {
	case s.state == live && (s.token != s.client || s.refreshed && s.rec.RememberMe):
		value = s.token
	case s.state == none && s.client != "":
		value = "" // clear
	default:
		if s.state == live && h.Get("Cache-Control") == "" {
			h.Set("Cache-Control", "no-store")
		}
		return
	}
	h.Set("Cache-Control", "no-store")
	if m.opts.Header != "" {
		h.Set(m.opts.Header, value)
		return
	}
	h.Add("Set-Cookie", m.setCookie(value, s.rec))
}

// cookieAttributes renders the attributes of the session cookie that never change, in
// the order net/http's Cookie.String writes them: Path and Domain go before the
// expiry, the flags after it. New has checked that Path and Domain need no escaping.
func (o Options) cookieAttributes() (pre, post string) {
	pre = "; Path=" + o.Path
	if o.Domain != "" {
		pre += "; Domain=" + strings.TrimPrefix(o.Domain, ".")
	}
	post = "; HttpOnly"
	if !o.Insecure {
		post += "; Secure"
	}
	switch o.SameSite {
	case http.SameSiteLaxMode:
		post += "; SameSite=Lax"
	case http.SameSiteStrictMode:
		post += "; SameSite=Strict"
	case http.SameSiteNoneMode:
		post += "; SameSite=None"
	}
	if o.Partitioned {
		post += "; Partitioned"
	}
	return pre, post
}

// setCookie returns the Set-Cookie header that gives the client value ("" clears the
// cookie), as net/http would render it. The attributes that never change are rendered
// once, in New.
func (m *Manager[T]) setCookie(value string, rec store.Record) string {
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
	case rec.RememberMe:
		var buf [40]byte
		b.WriteString("; Expires=")
		b.Write(rec.Expiry.UTC().AppendFormat(buf[:0], http.TimeFormat))
		b.WriteString("; Max-Age=")
		b.Write(strconv.AppendInt(buf[:0], int64(maxAge(rec.Expiry, m.now())), 10))
	}
	b.WriteString(m.attrsPost)
	return b.String()
}

// cookie returns the session cookie that gives the client value.
func (m *Manager[T]) cookie(value string, rec store.Record) *http.Cookie {
	c := &http.Cookie{
		Name:        m.opts.CookieName,
		Value:       value,
		Path:        m.opts.Path,
		Domain:      m.opts.Domain,
		Secure:      !m.opts.Insecure,
		HttpOnly:    true,
		SameSite:    m.opts.SameSite,
		Partitioned: m.opts.Partitioned,
	}
	switch {
	case value == "":
		c.MaxAge = -1
	case rec.RememberMe:
		c.Expires = rec.Expiry.UTC()
		c.MaxAge = maxAge(rec.Expiry, m.now())
	}
	return c
}

// maxAge returns the Max-Age, in whole seconds rounded up, of a cookie that expires at t
// when it is now.
func maxAge(t, now time.Time) int {
	return max(1, int((t.Sub(now)+time.Second-1)/time.Second))
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

// cookieValue returns the value of the first cookie called name in the request
// header h, or "". Unlike http.Request.Cookie it parses no other cookie and allocates
// nothing; the Store validates the value.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || n != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}
