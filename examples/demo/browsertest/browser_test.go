package browsertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// stores are the STOREs the test runs the demo on. A store the demo does not know
// (mongo, before store/mongostore exists) is skipped; one whose server does not answer
// is unavailable: skipped on a developer's machine, a failure under CI.
var stores = []string{"memory", "cookie", "redis", "postgres", "mongo"}

// stepTimeout bounds one browser step: a page load, a click and the page it leads to.
const stepTimeout = 30 * time.Second

// newBrowser starts one headless Chromium for the test and returns a function that
// opens a new browser context in it: a separate profile, with its own cookies, as
// another device would be.
func newBrowser(t *testing.T) func(t *testing.T) *tab {
	t.Helper()
	path := findChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// The first call starts Chromium and binds its life to the context it is given:
	// that must be browser itself, not a context with a deadline.
	if err := chromedp.Do(browser); err != nil {
		unavailable(t, "Chromium at "+path, err)
	}
	return func(t *testing.T) *tab {
		t.Helper()
		ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		return openTab(t, ctx)
	}
}

// openTab opens the tab of ctx. Like the browser, a tab lives as long as the context
// of its first call, so that call gets ctx itself, and the steps after it a deadline.
func openTab(t *testing.T, ctx context.Context) *tab {
	t.Helper()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: ctx}
}

// tab is one tab in one browser context.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// do runs browser actions, within stepTimeout.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads url and returns the HTTP status of the page.
func (b *tab) open(url string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("loading %s: %v", url, err)
	}
	return resp.Status
}

// submit clicks the button sel, which submits a form, and waits for the page it leads
// to; it returns that page's status.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

// back goes one step back in the tab's history, as the Back button does, and waits
// until the previous page shows, whether the browser loads it again or restores it from
// its caches (a restored page fires no load event, so chromedp.NavigateBack would wait
// for ever). The page being left is marked, so that the wait ends on the other one.
func (b *tab) back() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.leftByTest = true; history.back()`)); err != nil {
		b.t.Fatal(err)
	}
	for {
		// Fails while the page changes; the next try asks the new one.
		shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.leftByTest && document.readyState === "complete"`))
		if shown {
			return
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("Back: the previous page did not show within %v", stepTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// text returns the text the page shows.
func (b *tab) text() string {
	b.t.Helper()
	return b.eval(`document.body.innerText`)
}

// eval returns the value of a JavaScript expression in the page.
func (b *tab) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// count returns how many elements match the CSS selector sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// signedIn returns whom the page's header says is signed in, or "".
func (b *tab) signedIn() string {
	b.t.Helper()
	return b.eval(`(document.querySelector('header .who b') || {}).textContent || ""`)
}

// cookie returns the browser context's session cookie for url, if it has one.
func (b *tab) cookie(url string) (*network.Cookie, bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "session" {
			return c, true
		}
	}
	return nil, false
}

// has fails the test unless the page's text holds every one of wants.
func (b *tab) has(what string, wants ...string) {
	b.t.Helper()
	text := b.text()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			b.t.Fatalf("%s: the page does not say %q; it shows:\n%s", what, want, text)
		}
	}
}

// hasNot fails the test if the page's text holds any of unwanted.
func (b *tab) hasNot(what string, unwanted ...string) {
	b.t.Helper()
	text := b.text()
	for _, u := range unwanted {
		if strings.Contains(text, u) {
			b.t.Fatalf("%s: the page says %q; it shows:\n%s", what, u, text)
		}
	}
}

// shots saves screenshots under $DEMO_SCREENSHOTS, or a temporary directory.
type shots struct {
	dir string
	mu  sync.Mutex
	n   map[string]int
}

func newShots(t *testing.T) *shots {
	dir := os.Getenv("DEMO_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &shots{dir: dir, n: map[string]int{}}
}

// take saves a full-page PNG of the tab as <prefix>-<nn>-<name>.png.
func (s *shots) take(b *tab, prefix, name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	s.mu.Lock()
	s.n[prefix]++
	path := filepath.Join(s.dir, fmt.Sprintf("%s-%02d-%s.png", prefix, s.n[prefix], name))
	s.mu.Unlock()
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// TestBrowser drives the demo on each store as a visitor does: a first visit stores
// nothing; the cart survives a reload; login renews the token; three devices see three
// sessions and "log out everywhere else" signs the other two out; logout leaves nothing
// on Back and reload. On the memory store it also posts a form from another origin, and
// on the cookie store a name too large for a cookie.
func TestBrowser(t *testing.T) {
	newTab := newBrowser(t)
	shot := newShots(t)
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			// A user of this run only: Redis and PostgreSQL keep other runs' sessions.
			user := "Ada " + rand.Text()[:6]
			d := startDemo(t, kind)
			a := newTab(t)

			// A first visit: the page reads the session, and there is none to read.
			if status := a.open(d.URL + "/"); status != http.StatusOK {
				t.Fatalf("first visit: status %d", status)
			}
			if c, ok := a.cookie(d.URL); ok {
				t.Fatalf("a first visit set the cookie %s", c.Name)
			}
			a.has("first visit", "No session: no cookie, no record.", "no store call")
			shot.take(a, kind, "first-visit")

			// The cart makes a session; it survives a reload, and the flash shows once.
			a.submit(`button[data-sku="PEN-LAMY-SAFARI"]`)
			a.has("added to the cart", "Added Lamy Safari fountain pen, charcoal to your cart.")
			a.submit(`button[data-sku="PEN-LAMY-SAFARI"]`)
			c, ok := a.cookie(d.URL)
			if !ok || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || !c.Session {
				t.Fatalf("the session cookie after adding to the cart: %+v; want an HttpOnly, SameSite=Lax browser-session cookie", c)
			}
			a.do(chromedp.Reload())
			if q := a.eval(`document.querySelector('tr.line[data-sku="PEN-LAMY-SAFARI"] .qty').textContent`); q != "2" {
				t.Fatalf("after two adds and a reload, the cart holds %s pens, want 2", q)
			}
			a.hasNot("reloaded", "Added Lamy Safari")
			a.has("reloaded", "Stored: ", "Version")
			shot.take(a, kind, "cart")

			// Login renews the token, and keeps the cart.
			before := c.Value
			a.do(chromedp.SendKeys(chromedp.ID("name"), user))
			a.submit("#login-button")
			a.has("logged in", "Welcome, "+user+".", "Hello, "+user)
			if who := a.signedIn(); who != user {
				t.Fatalf("after login the header says %q is signed in, want %q", who, user)
			}
			if c, ok = a.cookie(d.URL); !ok || c.Value == before {
				t.Fatal("login did not give the browser a new session token")
			}
			if n := a.count(`tr.line`); n != 1 {
				t.Fatalf("after login the cart has %d lines, want 1", n)
			}
			shot.take(a, kind, "logged-in")

			if kind == "cookie" {
				cookieStore(t, newTab, a, d, shot)
			} else {
				devices(t, newTab, a, d, user, shot)
			}
			if kind == "memory" {
				crossOrigin(t, a, d, shot)
			}

			// Logout leaves nothing: not on Back (the pages are no-store), not on reload.
			a.open(d.URL + "/")
			a.submit("#logout")
			a.has("logged out", "You are signed out.", "No session: no cookie, no record.")
			if c, ok := a.cookie(d.URL); ok {
				t.Fatalf("after logout the browser still holds the cookie %s", c.Name)
			}
			a.back()
			a.hasNot("Back after logout", "Hello, Ada ")
			if who := a.signedIn(); who != "" {
				t.Fatalf("Back after logout shows %q signed in", who)
			}
			if n := a.count(`tr.line`); n != 0 {
				t.Fatalf("Back after logout shows a cart of %d lines", n)
			}
			shot.take(a, kind, "back-after-logout")
			a.do(chromedp.Reload())
			a.hasNot("reload after logout", "Hello, Ada ")
			if who := a.signedIn(); who != "" {
				t.Fatalf("reload after logout shows %q signed in", who)
			}
			a.has("reload after logout", "No session: no cookie, no record.")
			if c, ok := a.cookie(d.URL); ok {
				t.Fatalf("reloading after logout set the cookie %s", c.Name)
			}
		})
	}
}

// devices logs the same user in from two more browser contexts: the account page lists
// three sessions, the current first, and "log out everywhere else" signs the others
// out, which they are told on their next page.
func devices(t *testing.T, newTab func(*testing.T) *tab, a *tab, d *demo, user string, shot *shots) {
	others := []*tab{newTab(t), newTab(t)}
	for _, o := range others {
		o.open(d.URL + "/")
		o.do(chromedp.SendKeys(chromedp.ID("name"), user))
		o.submit("#login-button")
		if who := o.signedIn(); who != user {
			t.Fatalf("another device: %q signed in, want %q", who, user)
		}
	}
	a.open(d.URL + "/account")
	if n := a.count(`#session-list tr.session`); n != 3 {
		t.Fatalf("the account page lists %d sessions, want 3", n)
	}
	if first := a.eval(`document.querySelector('#session-list tbody tr').className`); first != "session current" {
		t.Fatalf("the first session listed is %q, want the current one", first)
	}
	a.has("three devices", "Log out everywhere else (2 other sessions)", "UTC")
	shot.take(a, d.Kind, "account-three-devices")

	a.submit("#logout-others")
	a.has("logged out everywhere else", "Signed out 2 other sessions.", "This is your only session.", `signed out by "Log out everywhere else"`)
	if n := a.count(`#logout-others`); n != 0 {
		t.Fatal("the button to log out everywhere else shows with one session left")
	}
	shot.take(a, d.Kind, "logged-out-everywhere-else")

	for i, o := range others {
		o.do(chromedp.Reload())
		o.has("a signed-out device", "This browser was signed out at", `from another device, with "Log out everywhere else"`)
		if who := o.signedIn(); who != "" {
			t.Fatalf("a signed-out device shows %q signed in", who)
		}
		if i == 0 {
			shot.take(o, d.Kind, "signed-out-elsewhere")
		}
		o.do(chromedp.Reload())
		o.hasNot("a signed-out device, reloaded", "This browser was signed out")
	}
}

// cookieStore checks what the cookie store cannot do, and a name too large for it.
func cookieStore(t *testing.T, newTab func(*testing.T) *tab, a *tab, d *demo, shot *shots) {
	a.open(d.URL + "/account")
	a.has("account on the cookie store", "it cannot list your other sessions")

	// A name too large for a cookie: a page that says so, and the session as it was.
	tooLarge := newTab(t)
	tooLarge.open(d.URL + "/")
	tooLarge.submit(`button[data-sku="INK-50ML-BLUEBLK"]`)
	tooLarge.do(chromedp.SetValue(chromedp.ID("name"), strings.Repeat("n", 5000)))
	if status := tooLarge.submit("#login-button"); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 5000-character name on the cookie store: status %d, want 413", status)
	}
	tooLarge.has("too large", "Too big for a cookie session", "Use a shorter name")
	shot.take(tooLarge, d.Kind, "too-large")
	tooLarge.do(chromedp.Reload()) // the page, not the form again (POST-redirect-GET)
	tooLarge.has("too large, reloaded", "Too big for a cookie session")
	tooLarge.open(d.URL + "/")
	tooLarge.has("after the failed login", "Blue-black fountain pen ink")
	if who := tooLarge.signedIn(); who != "" {
		t.Fatalf("after the failed login %q is signed in", who)
	}
}

// crossOrigin submits a form to the demo from a page of another origin (another port
// of 127.0.0.1: the same site, so SameSite=Lax sends the cookie): the demo refuses it.
func crossOrigin(t *testing.T, a *tab, d *demo, shot *shots) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Win a pen</title>
<form method="post" action="%s/cart/empty"><button id="win">Claim your free pen</button></form>`, d.URL)
	}))
	t.Cleanup(evil.Close)
	a.open(d.URL + "/")
	lines := a.count(`tr.line`)
	a.open(evil.URL)
	if status := a.submit("#win"); status != http.StatusForbidden {
		t.Fatalf("a form posted from %s: status %d, want 403", evil.URL, status)
	}
	a.has("cross-origin form", "Form refused: it came from another origin")
	shot.take(a, d.Kind, "cross-origin-refused")
	a.open(d.URL + "/")
	if n := a.count(`tr.line`); n != lines || lines == 0 {
		t.Fatalf("after a refused cross-origin form the cart has %d lines, had %d", n, lines)
	}
}

// TestBrowserStoreDown: with Redis cut off, a reload shows the error page within
// seconds, saying what to do; with Redis back, "Try again" brings the session back.
func TestBrowserStoreDown(t *testing.T) {
	newTab := newBrowser(t)
	shot := newShots(t)
	p := newProxy(t, getenv("REDIS_ADDR", "127.0.0.1:6379"))
	d := startDemo(t, "redis", "REDIS_ADDR="+p.Addr())
	a := newTab(t)
	a.open(d.URL + "/")
	user := "Ada " + rand.Text()[:6]
	a.do(chromedp.SendKeys(chromedp.ID("name"), user))
	a.submit("#login-button")
	if who := a.signedIn(); who != user {
		t.Fatalf("after login %q is signed in, want %q", who, user)
	}

	p.Cut()
	start := time.Now()
	a.do(chromedp.Reload())
	took := time.Since(start)
	a.has("store down", "The session store is not answering", "Try again in a few seconds")
	if took > 15*time.Second {
		t.Fatalf("the store-down page took %v, want it within 15s", took)
	}
	if who := a.signedIn(); who != "" {
		t.Fatalf("the store-down page shows %q signed in", who)
	}
	shot.take(a, "redis", "store-down")

	p.Restore()
	a.submit(`a.btn[href="/"]`) // "Try again"
	if who := a.signedIn(); who != user {
		t.Fatalf("with the store back, %q is signed in, want %q", who, user)
	}
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
