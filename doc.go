// Package typedsession keeps HTTP sessions whose data is your own struct.
//
// One [Manager] per kind of session keeps one value of type T per session, in a
// store of your choice: store/memstore (one process, tests), store/redisstore
// (Redis, Sentinel or Cluster, through rueidis), store/pgstore (PostgreSQL, through
// pgx) or store/cookiestore (the whole session sealed in the cookie, no server state).
// Switching stores is a one-line change; the typed API is the same.
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
// absolute deadlines itself (whatever the store's cleanup did), and decodes the value
// with the [Codec]. [Manager.Put] and [Manager.Update] change it; nothing is stored for
// a visitor whose session was never changed. The session is saved just before the first
// byte of the response: created, updated, touched (expiry only, at most once per
// Options.TouchInterval) or deleted, and then the cookie is set, with Vary: Cookie and
// Cache-Control: no-store. A request that fails before its response starts (a 5xx
// status, a panic, a handler that returns after its context is done) saves none of its
// pending changes: see [Manager.Handler].
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
// whole (last writer wins). A destroyed session is never brought back by a late write.
// The cookie store cannot offer this: it is last-writer-wins by nature.
//
// # Tokens
//
// A token is 256 bits from crypto/rand in base64url. Server-side stores never see it:
// they key records by its SHA-256, so a leaked table or keyspace yields no usable
// session. The Manager never adopts a token it did not issue: an unknown token is a
// fresh session with a new token. Call [Manager.Renew] on login and on every change of
// privilege.
//
// # Errors
//
// A store failure is never "no session": the operation returns the error, and the
// response is written by Options.ErrorHandler (default 500) and logged to
// Options.Logger, even if the handler ignored the error. A record that no longer decodes
// (the struct changed between deploys) is handled by Options.OnDecodeError, by default
// a fresh session and a warning. Programmer errors (a nil store, a Manager used outside
// its Handler) panic.
//
// # Stores
//
// Writing a store of your own is the business of package
// [github.com/seed96b21533/typedsession/store], which holds the contracts a store
// meets; the store/storetest package has the conformance suites every store passes.
package typedsession
