// Package compat is typedsession's compatibility matrix: the session middleware under
// the handlers and middleware commonly mounted with it, each tested with the session
// changed before it acts. It is a module of its own, so that none of these libraries
// enters the typedsession module's go.mod; .ci/run tests it under -race.
//
// The versions tested are those of go.mod: gorilla/websocket v1.5.3, coder/websocket
// v1.8.15, chi v5.5.0, and the standard library of the Go that runs the tests.
//
//   - TestWebSocket, with gorilla/websocket (Upgrade(w, r, w.Header()), as the Handler
//     documents) and coder/websocket, for a new session, an existing one, and one
//     renewed before the upgrade: the handler reads the session and changes it, the
//     101 carries the cookie whenever the token is new, a plain request with the cookie
//     sees the change while the connection is open, and messages flow both ways.
//     TestGorillaHeaderArgument shows that gorilla/websocket's 101 carries no cookie
//     when given a nil header.
//   - TestSSE, over HTTP/1.1 and HTTP/2: an event flushed through
//     http.ResponseController reaches the client while the handler is held, the
//     stream's header sets the new session's cookie, the session is saved while the
//     stream is open, and a second event flushed through http.Flusher follows.
//   - TestServeContentRange: a Range request to http.ServeContent answers 206 with the
//     right Content-Range and bytes and the session's cookie, and at most 4096 of the
//     40000 bytes are read from the file in user space (net/http copies the first 512
//     itself): the rest goes from the file to the socket by sendfile.
//   - TestCompress, TestTimeout and TestRecoverer run chi's Compress, Timeout and
//     Recoverer inside and outside the session middleware. Compress: the gzip body
//     decodes to what was written through Write and ReadFrom, the cookie is set, Vary
//     names Accept-Encoding and Cookie, the session is saved. Timeout: a handler that
//     finishes in time is saved; one that changes its session and then waits for its
//     context gets the 504, and the change is not saved and sets no cookie. Recoverer:
//     after a change and a panic, the 500, no cookie and the session as it was; after
//     a Destroy and a panic, the 500 expires the cookie and the session stays ended.
//   - TestServeMux: Go 1.22 ServeMux patterns (method, {id}, {path...}, {$}) with the
//     middleware around the mux and around each route: PathValue and Pattern reach the
//     handler, its change is saved, and the mux's 405 (with Allow) and 404 set no
//     cookie.
package compat
