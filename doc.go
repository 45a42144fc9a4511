// Package typedsession keeps HTTP sessions whose data is your own struct.
//
// One [Manager] per kind of session keeps one value of type T per session, in a
// store of your choice: store/memstore (one process, tests), store/redisstore
// (Redis, Sentinel or Cluster, through rueidis), store/pgstore (PostgreSQL, through
// pgx), store/mongostore (MongoDB, through the official driver) or store/cookiestore
// (the whole session sealed in the cookie, no server state). Switching stores is a
// one-line change; the typed API is the same.
//
//	st, err := memstore.New(memstore.Options{})
//	...
//	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
//	r := chi.NewRouter()
//	r.Use(sessions.Handler)
//	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
//		p, err := sessions.Get(r.Context()) // the zero Profile when there is no session
//		...
//	})
//
// # The request
//
// [Manager.Handler] does no I/O: a request that never asks for its session costs no
// store call. The first [Manager.Get] (or Update, Put...) reads the token, rejects a
// malformed one without asking the store, loads the record, enforces the idle and
// absolute deadlines itself (whatever the store's cleanup did, and by the current
// Options, for sessions created under other settings too), and decodes the value with
// the [Codec]. [Manager.Put] and [Manager.Update] change it; a change that leaves the
// value (as encoded) and its metadata as they were is no change, and nothing is stored
// for a visitor whose session was never changed. The session is saved just before the
// first byte of the response (or now, with [Manager.Commit] or [Manager.Swap]):
// created, updated, touched (last activity only, at most once per
// Options.TouchInterval) or ended, and then the cookie is set (see [Manager.Handler]
// for the cookie and the Cache-Control a response gets). A request that fails before
// its response starts (a 5xx status, a panic, a handler that returns after its context
// is done) saves none of its pending changes: see [Manager.Handler].
//
// A change made after the response started is still saved when the client's token
// need not change (an existing server-side session); when it would need a new cookie
// (a new session, Renew, a cookie-store session), it is not made, and the call returns
// [ErrResponseStarted] and logs it.
//
// # Concurrency
//
// Every write is a compare-and-swap on the record's version. When two requests change
// one session, the loser reloads it and applies its Update functions again, up to
// Options.MaxRetries times, so no update is lost; [Manager.Put] replaces the value
// whole (last writer wins). [Manager.Swap] reads and changes in one compare-and-swap.
//
// Renew and Destroy end the old token with a compare-and-swap that leaves a marker
// without data under it for a minute. A request that loses a race with them, or that
// arrives with the old token after them (an XHR fired during a login), gets
// [ErrSessionEnded] (409 by default): its change is not saved, and the client's cookie
// is neither set nor cleared, so the response never undoes the login or the logout. A
// destroyed session is never brought back by a late write, and no clock, however
// skewed, makes a retired token live again. The cookie store cannot offer this: it is
// last-writer-wins by nature.
//
// # Tokens
//
// A token is 256 bits from crypto/rand in base64url. Server-side stores never see it:
// they key records by its SHA-256, so a leaked table or keyspace yields no usable
// session. The Manager never adopts a token it did not issue: an unknown token is a
// fresh session with a new token. Call [Manager.Renew] on login and on every change of
// privilege ([Manager.SetOwner] renews for you).
//
// # Owners
//
// [Manager.SetOwner] at login makes a session one of its user's: [Manager.Sessions]
// lists them (for an account page), [Manager.DestroyID] ends one, DestroyOthers all but
// the request's, DestroyOwner all of them. Options.MaxOwnerSessions bounds how many one
// owner may hold: each login lists the owner's sessions once its own is stored and ends
// those past the bound in an order all logins agree on, so that concurrent logins leave
// exactly the bound; under such a race, a login that succeeded may see its session
// ended by another at once (reported as revoked).
//
// # Errors
//
// A store failure is never "no session": the operation returns the error, and the
// response is written by Options.ErrorHandler (by default 503 with Retry-After for a
// store that failed or did not answer within Options.StoreTimeout, 409 for a session
// another request ended, 500 for the rest) and logged to Options.Logger, even if the
// handler ignored the error; see [Manager.Handler] for when the handler keeps its own
// response. A record that no longer decodes (the struct changed between deploys) is
// handled by Options.OnDecodeError, by default a fresh session and a warning.
// Programmer errors (a nil store, a Manager used outside its Handler) panic.
//
// # Events
//
// Options.OnEvent receives an [Event] for every session created, renewed, given an
// owner, destroyed, revoked, found expired, evicted or cleaned, and for every conflict
// retried and store call: enough for an audit log and for metrics, with no dependency.
//
// # Tests
//
// [NewTesting] and [Manager.WithSession] let a handler be tested without a store and
// without the middleware. The store/storetest package has the conformance suites every
// store passes.
//
// # Stores
//
// Writing a store of your own is the business of package
// [github.com/seed96b21533/typedsession/store], which holds the contracts a store
// meets.
package typedsession
