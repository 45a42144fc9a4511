package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
)

// Item is one line of the cart.
type Item struct {
	SKU string
	Qty int
}

// Profile is the session's data.
type Profile struct {
	UserID   int64
	Name     string
	Cart     []Item
	LoggedIn time.Time
	// Flash is a one-time message for the next page, which takes it with Swap.
	Flash string `json:",omitempty"`
}

const (
	// cookieName is the session cookie's name: the default with Options.Insecure. Over
	// HTTPS, without Insecure, the default is "__Host-session".
	cookieName = "session"
	// storeTimeout is Options.StoreTimeout: the default, set here so that the page can
	// say it.
	storeTimeout = 2 * time.Second
	idleTimeout  = 30 * time.Minute
	// maxName bounds a login name, in characters.
	maxName = 10000
	// maxForm bounds a form body, in bytes.
	maxForm = 64 << 10
)

// product is one thing the shop sells.
type product struct {
	SKU, Name string
	Cents     int
}

var catalog = []product{
	{"BOOK-9780141439846", "Frankenstein, Penguin Classics paperback", 999},
	{"PEN-LAMY-SAFARI", "Lamy Safari fountain pen, charcoal", 2450},
	{"INK-50ML-BLUEBLK", "Blue-black fountain pen ink, 50 ml", 720},
}

func findProduct(sku string) (product, bool) {
	for _, p := range catalog {
		if p.SKU == sku {
			return p, true
		}
	}
	return product{}, false
}

//go:embed templates static
var assets embed.FS

// app is the demo shop.
type app struct {
	sessions *typedsession.Manager[Profile]
	st       store.Store // as openStore returned it, for the raw view
	bound    store.Store // st bound to the cookie name, for Load
	kind     string      // STORE
	where    string      // where the store keeps sessions, for the page
	log      *slog.Logger
	activity *activity
	pages    map[string]*template.Template

	mu      sync.Mutex
	seen    *fifo[string, uint64]    // the record version last shown, by session ID
	setCkie *fifo[string, setCookie] // the Set-Cookie that gave a token, by session ID
}

// setCookie is a Set-Cookie header the demo sent, with the token masked.
type setCookie struct {
	Header string
	By     string // "POST /login"
	At     time.Time
}

// newApp returns the demo's handler over st, the store named kind.
func newApp(kind string, st store.Store, logger *slog.Logger) (http.Handler, *app, error) {
	a := &app{
		st:       st,
		bound:    st,
		kind:     kind,
		where:    describeStore(kind),
		log:      logger,
		activity: newActivity(),
		seen:     newFIFO[string, uint64](maxEnded),
		setCkie:  newFIFO[string, setCookie](maxEnded),
	}
	if a.kind == "" {
		a.kind = "memory"
	}
	if n, ok := st.(store.Named); ok {
		b, err := n.WithName(cookieName)
		if err != nil {
			return nil, nil, err
		}
		a.bound = b
	}
	var err error
	a.sessions, err = typedsession.New[Profile](st, typedsession.Options{
		CookieName:   cookieName,
		Insecure:     true, // plain http on 127.0.0.1; never in production
		IdleTimeout:  idleTimeout,
		StoreTimeout: storeTimeout,
		OnEvent:      a.activity.record,
		ErrorHandler: a.problem,
		Logger:       logger,
	})
	if err != nil {
		return nil, nil, err
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, nil, err
	}

	r := chi.NewRouter()
	r.Use(securityHeaders, limitForms, a.watch, a.sessions.Handler)
	r.Get("/", a.shop)
	r.Get("/account", a.account)
	r.Post("/cart/add", a.addToCart)
	r.Post("/cart/empty", a.emptyCart)
	r.Post("/login", a.login)
	r.Post("/logout", a.logout)
	r.Post("/sessions/others", a.endOthers)
	r.Post("/sessions/end", a.endOne)
	r.Get("/problem/{kind}", a.problemPage)
	static, _ := fs.Sub(assets, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })

	// Cross-site POSTs are refused before they reach a handler (or the session):
	// http.CrossOriginProtection compares the browser's Sec-Fetch-Site or Origin
	// header with the request's host. SameSite=Lax does not cover this: another port
	// of the same host, or a sibling subdomain, is the same site.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(a.refused))
	return csrf.Handler(r), a, nil
}

// securityHeaders sets the headers every response of the demo carries: no script, no
// framing, styles from the demo only, forms posted to the demo only.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// limitForms bounds request bodies.
func limitForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		next.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(d.Seconds())))
		next.ServeHTTP(w, r)
	})
}

// watch gives the request a list that OnEvent fills with its store calls, and, once
// the response is written, remembers the Set-Cookie that gave the client a session,
// so that the next page can show it.
func (a *app) watch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), callsKey{}, new(calls))
		next.ServeHTTP(w, r.WithContext(ctx))
		for _, line := range w.Header().Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil || c.Name != cookieName || c.Value == "" {
				continue
			}
			attrs := strings.TrimPrefix(line, c.Name+"="+c.Value)
			a.mu.Lock()
			a.setCkie.put(store.ID(c.Value), setCookie{
				Header: c.Name + "=" + mask(c.Value) + attrs,
				By:     r.Method + " " + r.URL.Path,
				At:     time.Now(),
			})
			a.mu.Unlock()
		}
	})
}

// shop serves the shop: products, cart, login, and the session under the hood.
func (a *app) shop(w http.ResponseWriter, r *http.Request) {
	v, err := a.view(r, "Shop")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, "shop", http.StatusOK, v)
}

// account serves the account page: the session's Info, the user's sessions and the
// recent session events. Without a login it serves the shop, which has the login form.
func (a *app) account(w http.ResponseWriter, r *http.Request) {
	v, err := a.view(r, "Your account")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !v.LoggedIn {
		if v.Notice == nil {
			v.Notice = &notice{Kind: "info", Text: "Log in to see your account."}
		}
		v.Title, v.Nav = "Shop", "shop"
		a.render(w, "shop", http.StatusOK, v)
		return
	}
	acc := &accountView{}
	for info, err := range a.sessions.Sessions(r.Context(), owner(v.P)) {
		if errors.Is(err, errors.ErrUnsupported) {
			acc.Unsupported = true
			break
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		acc.Sessions = append(acc.Sessions, info)
	}
	for _, s := range acc.Sessions {
		if !s.Current {
			acc.Others++
		}
	}
	for _, e := range a.activity.recent(owner(v.P)) {
		acc.Activity = append(acc.Activity, describeEvent(e, v.Hood.Info.ID))
	}
	v.Account = acc
	a.render(w, "account", http.StatusOK, v)
}

// accountView is what the account page adds.
type accountView struct {
	Sessions    []typedsession.SessionInfo // the request's own first
	Others      int
	Unsupported bool // the store cannot list sessions (the cookie store)
	Activity    []eventLine
}

// page is what a page template gets.
type page struct {
	Title, Nav string
	Store      string // STORE
	Where      string
	P          Profile
	LoggedIn   bool
	Flash      string
	Notice     *notice
	Catalog    []product
	Cart       []cartLine
	Total      string
	Account    *accountView
	Hood       hood
	Problem    *problem
	Now        time.Time
}

type notice struct{ Kind, Text string }

type cartLine struct {
	product
	Qty   int
	Total string
}

// hood is the session as the server keeps it.
type hood struct {
	StoreTimeout time.Duration
	Immediate    bool // the store does no I/O (store.Immediate)
	Session      bool // the request has a session
	Info         typedsession.SessionInfo
	Calls        []storeCall
	Cookie       cookieView
	Raw          *rawView
	RawErr       string
	PrevVersion  uint64 // the version this browser saw last, or 0
}

// cookieView is the session cookie the browser sent.
type cookieView struct {
	Sent     bool
	Name     string
	Masked   string
	Len      int // characters of the value
	Size     int // bytes of name=value
	Set      *setCookie
	Clearing bool // the session had ended: this response expires the cookie
}

// Notices that a URL can ask for (after a redirect, when there is no session to carry a
// flash message).
var notices = map[string]notice{
	"signed-out":    {"ok", "You are signed out. Your session was ended in the store and its cookie expired; this page set no new one."},
	"name-required": {"warn", "Enter a name to log in: it cannot be blank."},
	"name-invalid":  {"warn", "A name cannot hold control characters, nor be longer than " + strconv.Itoa(maxName) + " characters."},
}

// view loads what every page shows: the session (taking its flash message), the
// notice, and the session under the hood.
func (a *app) view(r *http.Request, title string) (*page, error) {
	ctx := r.Context()
	p, err := a.sessions.Get(ctx)
	if err != nil {
		return nil, err
	}
	v := &page{Title: title, Nav: "shop", Store: a.kind, Where: a.where, Catalog: catalog, Now: time.Now()}
	if title != "Shop" {
		v.Nav = "account"
	}
	if p.Flash != "" {
		// Swap reads and clears in one compare-and-swap: of two tabs loading at once,
		// one shows the message.
		before, err := a.sessions.Swap(ctx, func(q *Profile) error { q.Flash = ""; return nil })
		if err != nil {
			return nil, err
		}
		v.Flash, p.Flash = before.Flash, ""
	}
	v.P, v.LoggedIn = p, p.Name != ""
	if n, ok := notices[r.URL.Query().Get("notice")]; ok {
		v.Notice = &n
	}
	total := 0
	for _, it := range p.Cart {
		pr, _ := findProduct(it.SKU)
		total += pr.Cents * it.Qty
		v.Cart = append(v.Cart, cartLine{product: pr, Qty: it.Qty, Total: money(pr.Cents * it.Qty)})
	}
	v.Total = money(total)

	info, ok, err := a.sessions.Info(ctx)
	if err != nil {
		return nil, err
	}
	hd := hood{StoreTimeout: storeTimeout, Session: ok, Info: info}
	if im, ok := a.st.(store.Immediate); ok {
		hd.Immediate = im.Immediate()
	}
	token := cookieValue(r)
	if token != "" {
		hd.Cookie = cookieView{Sent: true, Name: cookieName, Masked: mask(token), Len: len(token), Size: len(cookieName) + 1 + len(token)}
		a.mu.Lock()
		if sc, found := a.setCkie.get(store.ID(token)); found {
			hd.Cookie.Set = &sc
		}
		a.mu.Unlock()
	}
	if token != "" && !ok {
		// The browser holds the token of a session that is gone: say why, and expire
		// the cookie (Destroy on a request without a session only does that).
		v.Notice = a.endedNotice(store.ID(token))
		if err := a.sessions.Destroy(ctx); err != nil {
			return nil, err
		}
		hd.Cookie.Clearing = true
	}
	if c, ok := ctx.Value(callsKey{}).(*calls); ok {
		hd.Calls = c.snapshot()
	}
	if ok && token != "" && info.ID != "" {
		raw, err := readRaw(ctx, a.st, a.bound, token)
		if err != nil {
			hd.RawErr = err.Error()
		} else {
			hd.Raw = &raw
			a.mu.Lock()
			if prev, found := a.seen.get(info.ID); found && prev != raw.Version {
				hd.PrevVersion = prev
			}
			a.seen.put(info.ID, raw.Version)
			a.mu.Unlock()
		}
	}
	v.Hood = hd
	return v, nil
}

// endedNotice says why the session id is gone, as far as the demo saw it end.
func (a *app) endedNotice(id string) *notice {
	e, found := a.activity.endOf(id)
	if !found {
		return &notice{"warn", "Your session has ended: it expired, or the store no longer has it (memory sessions end when the demo restarts, cookie sessions when its key changes). You are signed out."}
	}
	at := clock(e.Time)
	switch {
	case e.Kind == typedsession.SessionRevoked && e.Reason == "DestroyOthers":
		return &notice{"warn", "This browser was signed out at " + at + " from another device, with \"Log out everywhere else\"."}
	case e.Kind == typedsession.SessionRevoked && e.Reason == "DestroyID":
		return &notice{"warn", "This browser was signed out at " + at + " from another device, on its account page."}
	case e.Kind == typedsession.SessionRevoked:
		return &notice{"warn", "This browser's session was ended at " + at + " (" + e.Reason + ")."}
	case e.Kind == typedsession.SessionDestroyed:
		return &notice{"ok", "You logged out at " + at + ", in another tab of this browser."}
	case e.Kind == typedsession.SessionEvicted:
		return &notice{"warn", "Your session was evicted at " + at + " to make room in the store. You are signed out."}
	}
	return &notice{"warn", "Your session expired at " + at + ". You are signed out."}
}

func (a *app) addToCart(w http.ResponseWriter, r *http.Request) {
	pr, ok := findProduct(r.PostFormValue("sku"))
	if !ok {
		a.problemKind(w, r, "bad-request")
		return
	}
	err := a.sessions.Update(r.Context(), func(p *Profile) error {
		p.Flash = "Added " + pr.Name + " to your cart."
		for i := range p.Cart {
			if p.Cart[i].SKU == pr.SKU {
				// Replace the slice rather than change the shared element: Update's
				// function runs on a shallow copy, and may run again after a conflict.
				cart := append([]Item(nil), p.Cart...)
				cart[i].Qty++
				p.Cart = cart
				return nil
			}
		}
		p.Cart = append(p.Cart[:len(p.Cart):len(p.Cart)], Item{SKU: pr.SKU, Qty: 1})
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/")
}

func (a *app) emptyCart(w http.ResponseWriter, r *http.Request) {
	err := a.sessions.Update(r.Context(), func(p *Profile) error {
		p.Cart, p.Flash = nil, "Your cart is empty."
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/")
}

// login signs the visitor in by name: there are no passwords in this shop.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimFunc(r.PostFormValue("name"), func(c rune) bool { return unicode.IsSpace(c) || !unicode.IsPrint(c) })
	switch {
	case name == "":
		back(w, r, "/?notice=name-required")
		return
	case utf8.RuneCountInString(name) > maxName || strings.ContainsFunc(name, unicode.IsControl):
		back(w, r, "/?notice=name-invalid")
		return
	}
	p := Profile{Name: name, UserID: userID(name)}
	ctx := r.Context()
	err := a.sessions.Update(ctx, func(q *Profile) error {
		q.Name, q.UserID, q.LoggedIn = p.Name, p.UserID, time.Now()
		q.Flash = "Welcome, " + name + ". Logging in gave this session a new token: the one your browser held before no longer works."
		return nil
	})
	if err == nil {
		// The owner makes the session listable and revocable; a new owner also renews
		// the token, as a login must.
		err = a.sessions.SetOwner(ctx, owner(p))
	}
	if err == nil {
		err = a.sessions.RememberMe(ctx, r.PostFormValue("remember") != "")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/")
}

// logout ends the session. It stores nothing afterwards: the visitor leaves without a
// session, so the confirmation travels in the URL.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/?notice=signed-out")
}

// endOthers signs the user out of every other session ("log out everywhere else").
func (a *app) endOthers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, err := a.sessions.DestroyOthers(ctx)
	if err == nil {
		msg := fmt.Sprintf("Signed out %d other session%s. ", n, plural(n))
		if n > 0 {
			msg += "Those browsers see the login form on their next page, with a note saying why."
		} else {
			msg = "There was no other session to sign out."
		}
		err = a.sessions.Update(ctx, func(p *Profile) error { p.Flash = msg; return nil })
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/account")
}

// endOne signs one session of the user out ("sign out" on the list).
func (a *app) endOne(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := a.sessions.Get(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if p.Name == "" {
		back(w, r, "/account")
		return
	}
	id := r.PostFormValue("id")
	info, _, err := a.sessions.Info(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The owner is the signed-in user's, never one from the form: DestroyID ends only
	// a session of that owner.
	ended, err := a.sessions.DestroyID(ctx, owner(p), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if ended && id == info.ID {
		back(w, r, "/?notice=signed-out")
		return
	}
	msg := "That session had already ended."
	if ended {
		msg = "Signed out that session. Its browser sees the login form on its next page."
	}
	if err := a.sessions.Update(ctx, func(p *Profile) error { p.Flash = msg; return nil }); err != nil {
		a.fail(w, r, err)
		return
	}
	back(w, r, "/account")
}

// back answers a form with a redirect to a page, so that reloading the page never
// submits the form again (POST-redirect-GET).
func back(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// render writes the page name. Every page shows session data, so none is cached:
// Cache-Control: no-store keeps Back from showing a signed-out user the page of the
// session they left.
func (a *app) render(w http.ResponseWriter, name string, status int, v *page) {
	var b bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		a.log.Error("demo: rendering a page", "page", name, "err", err)
		http.Error(w, "the page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// cookieValue returns the session cookie the request carries, or "".
func cookieValue(r *http.Request) string {
	if c, err := r.Cookie(cookieName); err == nil {
		return c.Value
	}
	return ""
}

// mask shows the ends of a token and hides the rest: whoever holds a token is signed
// in as its user, and a page can end up in a screenshot or a screen share.
func mask(token string) string {
	if len(token) < 16 {
		return strings.Repeat("•", len(token))
	}
	return token[:4] + "…" + token[len(token)-4:]
}

// userID stands in for a user database: the same name is the same user.
func userID(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(h.Sum32()) + 1
}

// owner is the owner of a logged-in user's sessions.
func owner(p Profile) string { return strconv.FormatInt(p.UserID, 10) }

func money(cents int) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
