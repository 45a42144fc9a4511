package main

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seed96b21533/typedsession"
)

// problem is an error page: what happened, and what to do.
type problem struct {
	Status     int
	Title      string
	What, Todo string
	RetryAfter int // seconds, for a 503
	Retry      string
}

// problems are the error pages, by the name /problem/{kind} gives them.
var problems = map[string]problem{
	"unavailable": {
		Status: http.StatusServiceUnavailable, RetryAfter: 2,
		Title: "The session store is not answering",
		What:  "The store that keeps the sessions failed, or did not answer within " + storeTimeout.String() + " (Options.StoreTimeout), so the shop could not read or save your session. If you had just submitted a form, it may not have been saved.",
		Todo:  "Try again in a few seconds. If you run this demo, check that its store answers.",
	},
	"too-large": {
		Status: http.StatusRequestEntityTooLarge,
		Title:  "Too big for a cookie session",
		What:   "This demo keeps your whole session in its cookie (STORE=cookie), and a browser keeps cookies of at most 4096 bytes: the name or the cart you sent would not fit. Nothing was saved; your session is as it was.",
		Todo:   "Use a shorter name. An application whose sessions grow uses a server-side store: run the demo with STORE=memory, redis or postgres.",
	},
	"ended": {
		Status: http.StatusConflict,
		Title:  "Your session changed meanwhile",
		What:   "Another tab or device changed this session while this request was using it: it logged in, logged out, or signed this browser out. Nothing of this request was saved.",
		Todo:   "Reload the page to see the session as it is now.",
	},
	"refused": {
		Status: http.StatusForbidden,
		Title:  "Form refused: it came from another origin",
		What:   "The form you submitted was sent from a page of another origin, so the shop refused it (http.CrossOriginProtection): a page elsewhere cannot act in your name here. SameSite=Lax alone would not have stopped this one: a page on another port or a sibling subdomain is the same site, and the browser sends it your session cookie.",
		Todo:   "Go to the shop and use its own forms.",
	},
	"bad-request": {
		Status: http.StatusBadRequest,
		Title:  "The shop did not understand that request",
		What:   "The form was malformed, too large, or named a product the shop does not sell. Nothing was changed.",
		Todo:   "Go back to the shop and try again from its own pages.",
	},
	"internal": {
		Status: http.StatusInternalServerError,
		Title:  "Something went wrong",
		What:   "The shop failed to handle your session; the error is in the demo's log. Nothing of this request was saved.",
		Todo:   "Try again; if it keeps failing, the log says why.",
	},
}

// kindOf returns the error page for a session failure.
func kindOf(err error) string {
	switch {
	// First: the library also reports a cookie too large as a store failure.
	case errors.Is(err, typedsession.ErrTooLarge):
		return "too-large"
	case errors.Is(err, typedsession.ErrSessionEnded), errors.Is(err, typedsession.ErrConflict):
		return "ended"
	case errors.Is(err, typedsession.ErrUnavailable):
		return "unavailable"
	case errors.As(err, new(*http.MaxBytesError)):
		return "bad-request"
	}
	return "internal"
}

// problem is the Manager's Options.ErrorHandler: it answers a request whose session
// failed with the page for the failure.
func (a *app) problem(w http.ResponseWriter, r *http.Request, err error) {
	a.problemKind(w, r, kindOf(err))
}

// fail answers a request whose handler got err: logs it, then the error page.
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelError
	if kindOf(err) == "ended" {
		level = slog.LevelInfo
	}
	a.log.Log(r.Context(), level, "demo: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	a.problem(w, r, err)
}

// problemKind answers with the error page kind. A form (a POST) is redirected to
// the page, so that reloading it never submits the form again; a page load gets the
// error page at its own URL, so that reloading it tries again.
func (a *app) problemKind(w http.ResponseWriter, r *http.Request, kind string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		back(w, r, "/problem/"+kind)
		return
	}
	p := problems[kind]
	if kind != "refused" {
		p.Retry = r.URL.RequestURI()
	}
	a.renderProblem(w, p)
}

// problemPage serves /problem/{kind}, where a failed form lands.
func (a *app) problemPage(w http.ResponseWriter, r *http.Request) {
	p, ok := problems[chi.URLParam(r, "kind")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a.renderProblem(w, p)
}

// refused answers a cross-origin form: it is not redirected, as the redirect would be
// a cross-origin navigation of its own.
func (a *app) refused(w http.ResponseWriter, r *http.Request) {
	a.renderProblem(w, problems["refused"])
}

func (a *app) renderProblem(w http.ResponseWriter, p problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	a.render(w, "problem", p.Status, &page{Title: p.Title, Store: a.kind, Where: a.where, Problem: &p, Now: time.Now()})
}
