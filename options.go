package typedsession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Options configures a [Manager]. The zero value is the secure default: a cookie named
// "__Host-session" with HttpOnly, Secure, SameSite=Lax and Path=/, no Domain, a
// browser-session cookie, a 24-hour absolute lifetime, no idle timeout, the JSON codec,
// and a 2-second budget for the store calls of one request.
type Options struct {
	// CookieName is the name of the session cookie. Default, as OWASP ASVS 5.0 (V3.3.1)
	// asks: "__Host-session", which browsers accept only from a secure origin, for
	// Path=/ and without a Domain, so that a sibling subdomain cannot plant a session
	// cookie; "__Secure-session" when the cookie has a Domain or another Path (it is
	// shared across subdomains or paths on purpose); and plain "session" only with
	// Insecure (local plain-http development). New checks that a name with either
	// prefix meets its browser rules.
	CookieName string
	// Domain is the cookie's Domain attribute. Default none: the cookie is sent back to
	// the host that set it only.
	Domain string
	// Path is the cookie's Path attribute. Default "/".
	Path string
	// Insecure drops the Secure attribute, for plain-http local development only.
	// Default false: the cookie is sent over HTTPS only.
	Insecure bool
	// SameSite is the cookie's SameSite attribute. Default (zero) is Lax. SameSite=None
	// requires Secure, so it cannot be combined with Insecure.
	SameSite http.SameSite
	// Partitioned sets the cookie's Partitioned attribute (CHIPS), for an application
	// that runs in a third-party iframe: browsers then keep a separate cookie per
	// top-level site. It requires Secure. Default false.
	Partitioned bool

	// Header, when set, carries the token in this request and response header instead of
	// a cookie, for API clients. The cookie options are then unused. A new token is
	// returned in the response header; an ended session returns the header empty.
	Header string

	// RememberMe makes new sessions "remember me" sessions: their cookie carries
	// Max-Age and survives a browser restart. Default false: a browser-session cookie.
	// Each session can change it with [Manager.RememberMe].
	RememberMe bool
	// Lifetime is the absolute lifetime of a session, counted from its creation; no
	// activity extends it. Default 24 hours.
	Lifetime time.Duration
	// IdleTimeout ends a session that has not been used for this long. It may not be
	// longer than Lifetime. Default 0: none. Both timeouts are enforced when a session
	// is read, against when it was created and when it was last active: a change of
	// either takes effect at once, for sessions created before it too.
	IdleTimeout time.Duration
	// TouchInterval is how often, at most, an unchanged session's last activity (and
	// with an IdleTimeout, its idle deadline) is written back to the store: a touch,
	// which rewrites no data. A session can therefore end up to TouchInterval before
	// IdleTimeout has passed since its last use. Default one minute, or IdleTimeout/2
	// if that is shorter; with an IdleTimeout it must be shorter than it.
	TouchInterval time.Duration

	// StoreTimeout bounds the time one request spends waiting on its store, over all
	// its store calls, retries and back-off included: a stalled or unreachable store is
	// an error within about this long, never a hang. Default (zero) 2 seconds: a
	// healthy store answers in well under a millisecond, and a request that waits
	// longer for its session is better answered with an error than held while a
	// browser or load balancer gives up on it. A negative value means no bound (the
	// request's own context still applies). Calls made outside a request (Sessions,
	// DestroyOwner with a background context) get the same bound each. A store that
	// does no I/O (store/memstore, and store/cookiestore without a Verify hook: see
	// store.Immediate) is called without this deadline, which could never fire.
	StoreTimeout time.Duration

	// Codec encodes session values. Default [JSON].
	Codec Codec
	// MaxRetries bounds how many times a request's Update functions are re-applied to a
	// reloaded session after a concurrent change, before [ErrConflict] is reported.
	// Default (zero) 16; a negative value means no retry (the first conflict is
	// reported), as a negative StoreTimeout means no bound.
	MaxRetries int

	// MaxOwnerSessions bounds how many live sessions one owner may hold (see
	// [Manager.SetOwner]). When a login would pass the bound, the owner's least recently
	// active other sessions end (SessionRevoked, "owner limit"), or, with
	// RefuseOverLimit, the login fails with [ErrTooManySessions]. The bound holds under
	// concurrent logins: see "Owners" in the package documentation. Default 0: no
	// bound. A store that cannot list sessions by owner (the cookie store) makes New
	// fail with an error that wraps errors.ErrUnsupported when it is set.
	MaxOwnerSessions int
	// RefuseOverLimit makes a login beyond MaxOwnerSessions fail, keeping the owner's
	// sessions, instead of ending the least recently active of them. Default false.
	RefuseOverLimit bool

	// OnEvent, if set, is called with each [Event]: sessions created, renewed, given an
	// owner, destroyed, revoked, found expired, evicted or cleaned by the store, and
	// conflicts retried and store calls. It is called synchronously, after the store
	// confirmed the change, from the goroutine of the request (or of the store's cleanup)
	// that made it: it must be safe for concurrent use, and a slow OnEvent slows that
	// request. No event is dropped; to keep requests fast, have OnEvent hand events to a
	// buffer of your own (see the Example of Event). Default nil: no events, and no cost.
	OnEvent func(ctx context.Context, e Event)

	// ErrorHandler writes the response when a session operation fails and the failure
	// was not handed to the handler (see [Manager.Handler]). Default: 503 Service
	// Unavailable with Retry-After for a store that failed or timed out
	// ([ErrUnavailable]), 409 Conflict for a session that another request changed or
	// ended ([ErrConflict], [ErrSessionEnded]) and for a login over the owner limit
	// ([ErrTooManySessions]), and 500 Internal Server Error for the rest (a value that
	// does not encode, a session too large for its store).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives failures and warnings. Default [slog.Default].
	Logger *slog.Logger
	// Now is the clock the Manager stamps and judges sessions by. Default time.Now.
	// Tests set it to move time without sleeping; stores keep their own clock for
	// the expiry they enforce.
	Now func() time.Time

	// OnDecodeError decides what happens when a stored session no longer decodes (the
	// struct changed shape between deploys, say). If it returns nil, the request gets a
	// fresh, empty session in place of the old one (the next write replaces the stored
	// record); if it returns an error, that error is reported like a store failure.
	// Default: a fresh session and a warning in the log.
	OnDecodeError func(ctx context.Context, err error) error
}

const (
	plainCookieName     = "session"
	defaultLifetime     = 24 * time.Hour
	defaultTouch        = time.Minute
	defaultRetries      = 16
	defaultStoreTimeout = 2 * time.Second
	// retryAfter is the Retry-After, in seconds, of the default ErrorHandler's 503.
	retryAfter = "2"
)

// resolve returns o with its defaults filled in, or an error for an invalid combination.
func (o Options) resolve() (Options, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.CookieName == "" {
		switch {
		case o.Insecure:
			o.CookieName = plainCookieName
		case o.Domain == "" && o.Path == "/":
			o.CookieName = "__Host-" + plainCookieName
		default:
			o.CookieName = "__Secure-" + plainCookieName
		}
	}
	if o.SameSite == 0 {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.Lifetime == 0 {
		o.Lifetime = defaultLifetime
	}
	if o.Codec == nil {
		o.Codec = JSON{}
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = defaultRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	switch {
	case o.StoreTimeout == 0:
		o.StoreTimeout = defaultStoreTimeout
	case o.StoreTimeout < 0:
		o.StoreTimeout = -1
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = defaultErrorHandler
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var errs []error
	switch {
	case o.Lifetime < 0:
		errs = append(errs, errors.New("negative Lifetime"))
	case o.IdleTimeout < 0:
		errs = append(errs, errors.New("negative IdleTimeout"))
	case o.TouchInterval < 0:
		errs = append(errs, errors.New("negative TouchInterval"))
	case o.IdleTimeout > o.Lifetime:
		errs = append(errs, errors.New("an IdleTimeout longer than the Lifetime"))
	case o.MaxOwnerSessions < 0:
		errs = append(errs, errors.New("negative MaxOwnerSessions"))
	case o.RefuseOverLimit && o.MaxOwnerSessions == 0:
		errs = append(errs, errors.New("RefuseOverLimit without a MaxOwnerSessions"))
	case o.TouchInterval >= o.IdleTimeout && o.IdleTimeout > 0:
		errs = append(errs, errors.New("a TouchInterval not shorter than the IdleTimeout"))
	}
	if o.TouchInterval == 0 {
		o.TouchInterval = defaultTouch
		if o.IdleTimeout > 0 {
			o.TouchInterval = min(defaultTouch, o.IdleTimeout/2)
		}
	}
	if o.Header == "" {
		if !validCookieName(o.CookieName) {
			errs = append(errs, fmt.Errorf("invalid CookieName %q", o.CookieName))
		}
		if o.SameSite == http.SameSiteNoneMode && o.Insecure {
			errs = append(errs, errors.New("a SameSite=None cookie requires Secure: it cannot be Insecure"))
		}
		if o.SameSite < http.SameSiteDefaultMode || o.SameSite > http.SameSiteNoneMode {
			errs = append(errs, fmt.Errorf("unknown SameSite mode %d", o.SameSite))
		}
		if !validCookiePath(o.Path) {
			errs = append(errs, fmt.Errorf("invalid Path %q", o.Path))
		}
		if o.Domain != "" && !validCookieDomain(o.Domain) {
			errs = append(errs, fmt.Errorf("invalid Domain %q", o.Domain))
		}
		if strings.HasPrefix(o.CookieName, "__Host-") && (o.Insecure || o.Domain != "" || o.Path != "/") {
			errs = append(errs, errors.New(`a "__Host-" cookie requires Secure, Path=/ and no Domain`))
		}
		if strings.HasPrefix(o.CookieName, "__Secure-") && o.Insecure {
			errs = append(errs, errors.New(`a "__Secure-" cookie requires Secure`))
		}
		if o.Partitioned && o.Insecure {
			errs = append(errs, errors.New("a Partitioned cookie requires Secure: it cannot be Insecure"))
		}
	} else if http.CanonicalHeaderKey(o.Header) == "Cookie" || http.CanonicalHeaderKey(o.Header) == "Set-Cookie" {
		errs = append(errs, fmt.Errorf("the %q header cannot carry the token; use the cookie transport", o.Header))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("typedsession: invalid Options: %w", err)
	}
	return o, nil
}

// defaultErrorHandler is the ErrorHandler of Options whose ErrorHandler is nil.
func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", retryAfter)
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrSessionEnded), errors.Is(err, ErrConflict), errors.Is(err, ErrTooManySessions):
		code = http.StatusConflict
	}
	http.Error(w, http.StatusText(code), code)
}

func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// validCookiePath reports whether p can be a cookie's Path as it is: it starts with a
// slash and holds no control character and no semicolon (RFC 6265, section 4.1.1).
func validCookiePath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c >= 0x7f || c == ';' {
			return false
		}
	}
	return true
}

// validCookieDomain reports whether d is a host name a cookie's Domain can hold: labels
// of letters, digits and hyphens separated by dots, an optional leading dot, at most
// 255 bytes. IP addresses are host names here too (digits and dots).
func validCookieDomain(d string) bool {
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 255 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
