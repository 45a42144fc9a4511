package main

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store/memstore"
)

// The stores the flows run on: the two without a server always, Redis, PostgreSQL and
// MongoDB where their servers answer (and, under CI, they must).
var (
	allStores    = []string{"memory", "cookie", "redis", "postgres", "mongo"}
	serverStores = []string{"memory", "redis", "postgres", "mongo"} // those that list and end sessions
)

// serve starts the demo over the store kind on an httptest server.
func serve(t *testing.T, kind string) (*httptest.Server, *app) {
	t.Helper()
	st, closeStore, err := openStore(kind)
	if err != nil {
		if kind != "memory" && kind != "cookie" { // a store with a server
			testenv.Unavailable(t, "the server of STORE="+kind, err)
		}
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	h, a, err := newApp(kind, st, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, a
}

// browser is a client with its own cookie jar that, like a browser, says where its
// requests come from, and that does not follow redirects, so that tests see them.
type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{
		Transport:     srv.Client().Transport,
		Jar:           jar,
		Timeout:       30 * time.Second, // a hung page is a failure, not a hung test
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &browser{t: t, srv: srv, c: c}
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// post submits a form as a page of the demo does, and checks that it is answered
// with a redirect (POST-redirect-GET); it returns where to.
func (b *browser) post(path string, form url.Values) (location string, r response) {
	b.t.Helper()
	r = b.postFrom("same-origin", b.srv.URL, path, form)
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("POST %s: status %d, want 303 (POST-redirect-GET); body:\n%s", path, r.status, r.body)
	}
	return r.header.Get("Location"), r
}

// postFrom submits a form as a browser does from a page of origin, whose relation to
// the demo is site (a Sec-Fetch-Site value, or "" for a browser that sends none).
func (b *browser) postFrom(site, origin, path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	req.Header.Set("Origin", origin)
	return b.do(req)
}

// token returns the session cookie the browser holds, or "".
func (b *browser) token() string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// byID returns the text of the element with the given id in page, or "".
func byID(page, id string) string {
	m := regexp.MustCompile(`(?s)id="` + id + `"[^>]*>(.*?)</`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

func mustContain(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(page, want) {
			t.Fatalf("%s: no %q in the page:\n%s", what, want, page)
		}
	}
}

func mustNotContain(t *testing.T, what, page string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Fatalf("%s: %q in the page:\n%s", what, u, page)
		}
	}
}

// checkPage checks what every page of the demo carries: not cacheable, since it shows
// session data.
func checkPage(t *testing.T, what string, r response) {
	t.Helper()
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
}

// uniqueName returns a user name no other test run uses, so that runs against a shared
// Redis or PostgreSQL never see each other's sessions.
func uniqueName(prefix string) string { return prefix + " " + rand.Text()[:8] }

func TestFirstVisitStoresNothing(t *testing.T) {
	t.Parallel()
	srv, a := serve(t, "memory")
	b := newBrowser(t, srv)
	for _, path := range []string{"/", "/account", "/?notice=signed-out"} {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, r.status)
		}
		checkPage(t, path, r)
		if sc := r.header.Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("GET %s on a first visit set a cookie: %q", path, sc)
		}
		mustContain(t, "GET "+path, r.body, "No session: no cookie, no record.", "no store call: your browser sent no session cookie")
	}
	if n := a.st.(*memstore.Store).Len(); n != 0 {
		t.Fatalf("the store holds %d records after first visits, want 0", n)
	}
}

// TestShopping runs the flows of one visitor on every store: a cart that needs a session,
// a flash message shown once, a login that renews the token, a logout that leaves
// nothing behind.
func TestShopping(t *testing.T) {
	for _, kind := range allStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, kind)
			b := newBrowser(t, srv)

			to, r := b.post("/cart/add", url.Values{"sku": {"PEN-LAMY-SAFARI"}})
			if to != "/" || len(r.header.Values("Set-Cookie")) != 1 {
				t.Fatalf("add to cart: redirect to %q with Set-Cookie %q, want / with one cookie", to, r.header.Values("Set-Cookie"))
			}
			anon := b.token()
			page := b.get("/")
			checkPage(t, "cart", page)
			if got := byID(page.body, "flash"); got != "Added Lamy Safari fountain pen, charcoal to your cart." {
				t.Fatalf("flash after adding to the cart = %q", got)
			}
			mustContain(t, "cart", page.body, `<tr class="line" data-sku="PEN-LAMY-SAFARI"><td>Lamy Safari fountain pen, charcoal</td><td class="num qty">1</td>`,
				`<pre class="data" id="data">`, `&#34;SKU&#34;: &#34;PEN-LAMY-SAFARI&#34;`)
			if kind != "cookie" {
				mustContain(t, "cart", page.body, `Version <b>2</b>`) // created, then the flash taken
			}
			page = b.get("/")
			if got := byID(page.body, "flash"); got != "" {
				t.Fatalf("the flash message shows twice: %q", got)
			}

			// A blank name does not log in, and changes nothing.
			to, _ = b.post("/login", url.Values{"name": {" \t\u00a0 "}})
			if page = b.get(to); !strings.Contains(byID(page.body, "notice"), "cannot be blank") || strings.Contains(page.body, "signed in as <b>") {
				t.Fatalf("a blank name: notice %q; page:\n%s", byID(page.body, "notice"), page.body)
			}

			to, r = b.post("/login", url.Values{"name": {"  Ada  "}, "remember": {"on"}})
			if to != "/" {
				t.Fatalf("login redirects to %q", to)
			}
			login := b.token()
			if login == anon || login == "" {
				t.Fatal("login kept the token of the anonymous session")
			}
			if kind != "cookie" {
				// The token from before the login is void: a request still bearing it
				// (another tab's, in flight) is told the session changed.
				late := newBrowser(t, srv)
				u, _ := url.Parse(srv.URL)
				late.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: anon}})
				if r := late.get("/"); r.status != http.StatusConflict || !strings.Contains(r.body, "Your session changed meanwhile") {
					t.Fatalf("the token from before login: status %d, want 409 and the page that says the session changed:\n%s", r.status, r.body)
				}
			}
			page = b.get("/")
			mustContain(t, "after login", page.body, "signed in as <b>Ada</b>", "Hello, Ada", `data-sku="PEN-LAMY-SAFARI"`)
			if got := byID(page.body, "flash"); !strings.HasPrefix(got, "Welcome, Ada.") {
				t.Fatalf("flash after login = %q", got)
			}
			// The page shows the Set-Cookie that login sent, with the token masked.
			setCookie := r.header.Get("Set-Cookie")
			attrs := setCookie[strings.Index(setCookie, ";"):]
			mustContain(t, "after login", page.body, "Set-Cookie: "+cookieName+"="+mask(login)+attrs)
			mustNotContain(t, "after login", page.body, login)

			to, r = b.post("/logout", nil)
			if to != "/?notice=signed-out" || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("logout: redirect to %q, Set-Cookie %q; want the cookie expired", to, r.header.Get("Set-Cookie"))
			}
			page = b.get(to)
			if sc := page.header.Values("Set-Cookie"); len(sc) != 0 || b.token() != "" {
				t.Fatalf("the page after logout set a cookie: %q", sc)
			}
			mustContain(t, "after logout", page.body, "You are signed out.", "No session: no cookie, no record.")
			mustNotContain(t, "after logout", page.body, "Ada", `<tr class="line"`)
		})
	}
}

// TestDevices logs one user in from three browsers: the account page lists three
// sessions, the current first; "log out everywhere else" ends the other two, says how
// many, and the other browsers are told why on their next page.
func TestDevices(t *testing.T) {
	for _, kind := range serverStores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, kind)
			name := uniqueName("Grace")
			devices := make([]*browser, 3)
			for i := range devices {
				devices[i] = newBrowser(t, srv)
				devices[i].post("/login", url.Values{"name": {name}})
			}
			a, b, c := devices[0], devices[1], devices[2]

			page := a.get("/account")
			checkPage(t, "account", page)
			rows := regexp.MustCompile(`<tr class="session( current)?">`).FindAllStringSubmatch(page.body, -1)
			if len(rows) != 3 || rows[0][1] != " current" {
				t.Fatalf("account page: %d sessions listed, the first current: %v; want 3, the current first", len(rows), rows)
			}
			mustContain(t, "account", page.body, "Log out everywhere else (2 other sessions)", "UTC")

			// Sign out one device from the list: the second row's (the first is this
			// browser's).
			ids := regexp.MustCompile(`name="id" value="([^"]+)"`).FindAllStringSubmatch(page.body, -1)
			if len(ids) != 3 {
				t.Fatalf("account page: %d sign-out buttons, want 3", len(ids))
			}
			cID := ids[1][1]
			to, _ := a.post("/sessions/end", url.Values{"id": {cID}})
			if page = a.get(to); byID(page.body, "flash") != "Signed out that session. Its browser sees the login form on its next page." {
				t.Fatalf("flash after signing out one session = %q", byID(page.body, "flash"))
			}
			// Whichever of b and c it was now sees the login form, with a reason.
			var gone, other *browser
			for _, d := range []*browser{b, c} {
				if p := d.get("/"); strings.Contains(p.body, "signed in as <b>") {
					other = d
				} else {
					gone = d
					mustContain(t, "the signed-out device", byID(p.body, "notice"), "signed out at", "on its account page")
				}
			}
			if gone == nil || other == nil {
				t.Fatal("signing out one session from the list did not sign out exactly one device")
			}

			to, _ = a.post("/sessions/others", nil)
			page = a.get(to)
			if got := byID(page.body, "flash"); !strings.HasPrefix(got, "Signed out 1 other session.") {
				t.Fatalf("flash after log out everywhere else = %q", got)
			}
			if n := strings.Count(page.body, `<tr class="session`); n != 1 {
				t.Fatalf("after log out everywhere else, %d sessions listed, want 1", n)
			}
			mustContain(t, "alone", page.body, `id="no-others"`, "signed out by &#34;Log out everywhere else&#34; (DestroyOthers)", "signed in: the session is now yours")
			mustNotContain(t, "alone", page.body, "Log out everywhere else (")

			p := other.get("/")
			mustContain(t, "the device signed out by log out everywhere else", byID(p.body, "notice"), "from another device, with &#34;Log out everywhere else&#34;")
			if !strings.Contains(p.header.Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("the page that says the session ended does not expire its cookie: %q", p.header.Values("Set-Cookie"))
			}
			if p = other.get("/"); byID(p.body, "notice") != "" || len(p.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("the next page still talks of the ended session: notice %q, Set-Cookie %q", byID(p.body, "notice"), p.header.Values("Set-Cookie"))
			}

			// "Sign out this browser" on the list is a logout.
			own := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(a.get("/account").body)
			to, r := a.post("/sessions/end", url.Values{"id": {own[1]}})
			if to != "/?notice=signed-out" || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("signing out this browser from the list: redirect to %q, Set-Cookie %q; want the cookie expired", to, r.header.Get("Set-Cookie"))
			}
			mustContain(t, "signed out from the list", a.get(to).body, "You are signed out.", "No session: no cookie, no record.")
		})
	}
}

func TestCookieStoreCannotListSessions(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, "cookie")
	b := newBrowser(t, srv)
	b.post("/login", url.Values{"name": {"Ada"}})
	page := b.get("/account")
	mustContain(t, "account on the cookie store", page.body, `id="sessions-unsupported"`)
	mustNotContain(t, "account on the cookie store", page.body, `id="logout-others"`, `id="no-others"`)
}

// TestTooLarge: a name too large for a cookie session gets a page that says so, and the
// session stays as it was.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, "cookie")
	b := newBrowser(t, srv)
	b.post("/cart/add", url.Values{"sku": {"INK-50ML-BLUEBLK"}})
	before := b.token()
	to, r := b.post("/login", url.Values{"name": {strings.Repeat("n", 5000)}})
	if to != "/problem/too-large" || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("a 5000-character name: redirect to %q, Set-Cookie %q; want /problem/too-large and no cookie", to, r.header.Values("Set-Cookie"))
	}
	page := b.get(to)
	if page.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("GET %s: status %d, want 413", to, page.status)
	}
	checkPage(t, "too large", page)
	mustContain(t, "too large", page.body, "Too big for a cookie session", "Use a shorter name")
	if b.token() != before {
		t.Fatal("the failed login changed the cookie")
	}
	page = b.get("/")
	mustContain(t, "after the failed login", page.body, `data-sku="INK-50ML-BLUEBLK"`)
	mustNotContain(t, "after the failed login", page.body, "signed in as <b>")
}

// TestCrossOrigin: a form posted from another origin is refused before it reaches the
// session, whether the browser says so with Sec-Fetch-Site or only with Origin.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	srv, a := serve(t, "memory")
	b := newBrowser(t, srv)
	for _, tc := range []struct{ site, origin string }{
		{"cross-site", "https://evil.example"},
		{"same-site", "http://127.0.0.1:1"}, // another port of the same host: SameSite=Lax lets the cookie through
		{"", "https://evil.example"},        // a browser without Sec-Fetch-Site
	} {
		r := b.postFrom(tc.site, tc.origin, "/cart/add", url.Values{"sku": {"PEN-LAMY-SAFARI"}})
		if r.status != http.StatusForbidden || len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("POST from %s (Sec-Fetch-Site %q): status %d, Set-Cookie %q; want 403 and no cookie", tc.origin, tc.site, r.status, r.header.Values("Set-Cookie"))
		}
		mustContain(t, "refused", r.body, "Form refused: it came from another origin")
	}
	if n := a.st.(*memstore.Store).Len(); n != 0 {
		t.Fatalf("refused forms stored %d sessions", n)
	}
	if to, _ := b.post("/cart/add", url.Values{"sku": {"PEN-LAMY-SAFARI"}}); to != "/" {
		t.Fatalf("a same-origin form redirects to %q", to)
	}
}

// TestStoreDown: with Redis cut off or hanging, a page says that the store is not
// answering, within seconds, and a form lands on that page; when Redis is back, so is
// the session.
func TestStoreDown(t *testing.T) {
	for _, mode := range []string{"cut", "stall"} {
		t.Run(mode, func(t *testing.T) {
			proxy := testenv.NewProxy(t, testenv.Getenv("REDIS_ADDR", defaultRedisAddr))
			t.Setenv("REDIS_ADDR", proxy.Addr())
			srv, _ := serve(t, "redis")
			b := newBrowser(t, srv)
			b.post("/login", url.Values{"name": {uniqueName("Ada")}})
			if mode == "cut" {
				proxy.Cut()
			} else {
				proxy.Stall()
			}
			start := time.Now()
			page := b.get("/account")
			if took := time.Since(start); page.status != http.StatusServiceUnavailable || took > 15*time.Second {
				t.Fatalf("with Redis %s: status %d after %v; want 503 within 15s", mode, page.status, took)
			}
			checkPage(t, "store down", page)
			if page.header.Get("Retry-After") == "" {
				t.Error("the 503 has no Retry-After")
			}
			mustContain(t, "store down", page.body, "The session store is not answering", "Try again in a few seconds", `href="/account">Try again`)
			to, _ := b.post("/cart/add", url.Values{"sku": {"PEN-LAMY-SAFARI"}})
			if to != "/problem/unavailable" {
				t.Fatalf("a form with Redis %s redirects to %q", mode, to)
			}
			proxy.Restore()
			if page = b.get("/account"); page.status != http.StatusOK || !strings.Contains(page.body, "Your sessions") {
				t.Fatalf("with Redis back: status %d, body:\n%s", page.status, page.body)
			}
		})
	}
}

// TestStartupErrors: a store that cannot be opened is an error that names the variable
// to fix.
func TestStartupErrors(t *testing.T) {
	for _, tc := range []struct{ kind, env, value, want string }{
		{"redis", "REDIS_ADDR", "127.0.0.1:1", "cannot reach Redis at 127.0.0.1:1 (set REDIS_ADDR"},
		{"postgres", "PG_URL", "postgres://postgres:secret@127.0.0.1:1/test", "cannot reach PostgreSQL at postgres://postgres:xxxxx@127.0.0.1:1/test (set PG_URL)"},
		{"postgres", "PG_URL", "postgres://[::1", "PG_URL is not a PostgreSQL connection string"},
		{"mongo", "MONGO_URL", "mongodb://app:secret@127.0.0.1:1/?serverSelectionTimeoutMS=500", "no MongoDB answers at MONGO_URL=mongodb://app:xxxxx@127.0.0.1:1/"},
		{"cookie", "COOKIE_KEY", "c2hvcnQ=", "COOKIE_KEY decodes to 5 bytes, want 32"},
		{"cookie", "COOKIE_KEY", "!!", "COOKIE_KEY is not standard base64"},
		{"nosuchstore", "STORE", "nosuchstore", `unknown STORE="nosuchstore"`},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, closeStore, err := openStore(tc.kind)
			if err == nil {
				closeStore()
				t.Fatalf("openStore(%q) with %s=%s: no error", tc.kind, tc.env, tc.value)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("openStore(%q) with %s=%s: %v; want it to say %q, without the password", tc.kind, tc.env, tc.value, err, tc.want)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "127.0.0.1:0": true, "[::1]:8080": true, "localhost:8080": true,
		":8080": false, "0.0.0.0:8080": false, "192.168.1.2:8080": false, "example.com:80": false, "8080": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok %t", addr, err, ok)
		}
	}
}

func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	s := newServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.WriteTimeout <= 2*storeTimeout {
		t.Fatalf("server timeouts: header %v, read %v, write %v, idle %v; want all set, and a write timeout well over the store budget %v",
			s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, storeTimeout)
	}
}
