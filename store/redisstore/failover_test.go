package redisstore_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// skipShort skips a test that kills a Redis master and waits for its failover: each
// takes several seconds of real time (a master is declared down after a second, then a
// replica is elected). CI runs them: .ci/run runs go test without -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("kills a Redis master and waits for the failover (seconds of real time); skipped with -short, run in CI (.ci/run runs without -short)")
	}
}

// haStoreTimeout is the Manager's StoreTimeout in the failover tests: a request that
// waits on a dead master, or on replicas that do not acknowledge, fails within it.
const haStoreTimeout = time.Second

// haSlack is how much longer than haStoreTimeout a request may take in all (HTTP, the
// handler, a loaded machine): a liveness bound, not a speed target.
const haSlack = 3 * time.Second

// haProfile is the session of the failover tests.
type haProfile struct {
	Name string
	N    int
}

// failoverCase says how a failover test runs.
type failoverCase struct {
	durable bool // the store waits for a replica: Options.WaitReplicas 1
	lag     bool // the replicas are frozen before the master is killed, so that they lag
	manual  bool // a manual failover (the master hands over) instead of a SIGKILL
}

func (fc failoverCase) String() string {
	mode := "default"
	if fc.durable {
		mode = "WaitReplicas=1"
	}
	switch {
	case fc.manual:
		return mode + ", manual failover"
	case fc.lag:
		return mode + ", SIGKILL of the master, replicas frozen before"
	}
	return mode + ", SIGKILL of the master, replicas in sync"
}

// haServer is an application on a topology: a Manager over the store, behind
// httptest, and its users.
type haServer struct {
	t     *testing.T
	srv   *httptest.Server
	st    *redisstore.Store
	phase atomic.Int32 // of haPhases, as the traffic sees it

	// per phase: requests answered 200 and by the ErrorHandler
	ok, failed    [haPhases]atomic.Int64
	notReplicated [haPhases]atomic.Int64 // failures that wrap ErrNotReplicated
	slowest       atomic.Int64           // the longest request, ns

	mu   sync.Mutex
	errs [haPhases][]string // the first errors of each phase
}

// The phases of a failover test.
const (
	phaseNormal   = iota
	phaseFrozen   // the replicas are frozen
	phaseKilled   // the master is dead (or handing over), no replica promoted yet
	phasePromoted // a replica serves in its place
	haPhases
)

var phaseNames = [haPhases]string{"before", "replicas frozen", "failing over", "after the promotion"}

func newHAServer(t *testing.T, topo topology, opts redisstore.Options) *haServer {
	t.Helper()
	h := &haServer{t: t, st: newStoreOn(t, topo.Client(), opts)}
	m, err := typedsession.New[haProfile](h.st, typedsession.Options{
		Insecure:     true,
		StoreTimeout: haStoreTimeout,
		Logger:       slog.New(slog.DiscardHandler),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, redisstore.ErrNotReplicated) {
				h.notReplicated[h.phase.Load()].Add(1)
				if !errors.Is(err, typedsession.ErrUnavailable) || errors.Is(err, typedsession.ErrConflict) {
					t.Errorf("the Manager reported a write short of replicas as %v; want ErrUnavailable", err)
				}
			}
			code := http.StatusServiceUnavailable
			if errors.Is(err, typedsession.ErrSessionEnded) || errors.Is(err, typedsession.ErrConflict) {
				code = http.StatusConflict
			}
			http.Error(w, err.Error(), code)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	show := func(w http.ResponseWriter, p haProfile) { fmt.Fprintf(w, "%s %d", p.Name, p.N) }
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		if m.Put(r.Context(), haProfile{Name: name}) != nil || m.SetOwner(r.Context(), name) != nil {
			return
		}
		show(w, haProfile{Name: name})
	})
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		var p haProfile
		err := m.Update(r.Context(), func(v *haProfile) error { v.N++; p = *v; return nil })
		if err == nil {
			show(w, p) // a failure to save it makes the ErrorHandler answer instead
		}
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		if p, err := m.Get(r.Context()); err == nil {
			show(w, p)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		// Destroy's failure is the handler's to answer.
		if err := m.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "bye")
	})
	h.srv = httptest.NewServer(m.Handler(mux))
	t.Cleanup(h.srv.Close)
	return h
}

// haUser is one browser.
type haUser struct {
	name   string
	client *http.Client
	cookie string // the session cookie its login set
	key    string // the Redis key of its session
	acked  int    // the last Counter a 200 acknowledged
	frozen int    // increments acknowledged while the replicas were frozen
	unsure bool   // an increment failed since the last acknowledged one: it may have been applied
	lost   int    // acknowledged increments that a later Counter shows undone
	// per phase: increments tried and acknowledged
	tried, ok [haPhases]atomic.Int64
}

func (h *haServer) newUser(name string) *haUser {
	jar, _ := cookiejar.New(nil)
	return &haUser{name: name, client: &http.Client{Jar: jar}}
}

// do sends one request as u and checks what must hold whatever Redis is doing: the
// answer comes within the store's deadline, and it is either 200 with u's own session
// or the ErrorHandler's 503 without Set-Cookie: never another user's session, never
// "no session". It returns the Counter of a 200.
func (h *haServer) do(u *haUser, method, path string) (int, bool) {
	t := h.t
	start := time.Now()
	req, _ := http.NewRequest(method, h.srv.URL+path, nil)
	resp, err := u.client.Do(req)
	d := time.Since(start)
	for {
		old := h.slowest.Load()
		if int64(d) <= old || h.slowest.CompareAndSwap(old, int64(d)) {
			break
		}
	}
	if d > haStoreTimeout+haSlack {
		t.Errorf("%s %s as %s took %v; want an answer within the store's deadline (%v)", method, path, u.name, d, haStoreTimeout)
	}
	if err != nil {
		t.Errorf("%s %s as %s: %v", method, path, u.name, err)
		return 0, false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ph := h.phase.Load()
	switch resp.StatusCode {
	case http.StatusOK:
		h.ok[ph].Add(1)
		if path == "/logout" && string(body) == "bye" {
			return 0, true
		}
		name, n, _ := strings.Cut(string(body), " ")
		if name != u.name {
			t.Errorf("%s %s as %s (%s) = 200 %q: another user's session, or none", method, path, u.name, phaseNames[ph], body)
			return 0, false
		}
		c, _ := strconv.Atoi(n)
		return c, true
	case http.StatusServiceUnavailable:
		if h.failed[ph].Add(1) <= 3 {
			h.mu.Lock()
			h.errs[ph] = append(h.errs[ph], strings.TrimSpace(string(body)))
			h.mu.Unlock()
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("%s %s as %s failed with Set-Cookie %q: a failure must not touch the session", method, path, u.name, sc)
		}
		return 0, false
	}
	t.Errorf("%s %s as %s (%s) = %d %q; want 200 or the ErrorHandler's 503", method, path, u.name, phaseNames[ph], resp.StatusCode, body)
	return 0, false
}

// login logs u in and reports whether it was acknowledged.
func (h *haServer) login(u *haUser) bool {
	if _, ok := h.do(u, "POST", "/login?name="+u.name); !ok {
		return false
	}
	for _, c := range u.client.Jar.Cookies(mustURL(h.t, h.srv.URL)) {
		if c.Name == "session" {
			u.cookie = c.Value
		}
	}
	sum := sha256.Sum256([]byte(u.cookie))
	u.key = redisstore.PrefixOf(h.st) + string(sum[:])
	return true
}

// loginUp logs u in while every server is up, and tries again after a 503: on a
// loaded machine a write can miss the store's 1 s budget even then (with WaitReplicas,
// the replicas get half of it to acknowledge). A failed login leaves nothing the test
// counts: the next one makes a new session.
func (h *haServer) loginUp(u *haUser) bool {
	for range 10 {
		if h.login(u) {
			return true
		}
	}
	return false
}

// incr increments u's Counter and records the outcome in the current phase.
func (h *haServer) incr(u *haUser) {
	ph := h.phase.Load()
	u.tried[ph].Add(1)
	n, ok := h.do(u, "POST", "/incr")
	if !ok {
		// A write that missed its deadline may still have been applied (on a loaded
		// machine, even with every server up).
		u.unsure = true
		return
	}
	if ph == phaseNormal && (n <= u.acked || (n != u.acked+1 && !u.unsure)) {
		h.t.Errorf("%s: Counter %d after %d acknowledged increments (and none failed since the last)", u.name, n, u.acked)
	}
	u.unsure = false
	// One browser increments in turn: a Counter not above the last one
	// acknowledged shows acknowledged increments undone. (One above it by more
	// than one shows increments that failed but were applied.)
	if n <= u.acked {
		u.lost += u.acked - n + 1
	}
	u.acked = n
	u.ok[ph].Add(1)
	if ph == phaseFrozen && h.phase.Load() == phaseFrozen {
		// Started and acknowledged while the replicas were frozen. (One acknowledged
		// after they were thawed may have reached them.)
		u.frozen++
	}
}

// lookup reads the session of an old cookie on a fresh client: whose it is, or "".
func (h *haServer) lookup(cookie string) string {
	req, _ := http.NewRequest("GET", h.srv.URL+"/read", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Errorf("GET /read: %v", err)
		return ""
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	name, _, _ := strings.Cut(string(body), " ")
	return name
}

// waitUntil polls cond until it holds, and fails the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// everyUser returns a condition: every user's count in phase ph is at least n.
func everyUser(users []*haUser, ph int, n int64, count func(u *haUser) *[haPhases]atomic.Int64) func() bool {
	return func() bool {
		for _, u := range users {
			if count(u)[ph].Load() < n {
				return false
			}
		}
		return true
	}
}

func acked(u *haUser) *[haPhases]atomic.Int64 { return &u.ok }
func tried(u *haUser) *[haPhases]atomic.Int64 { return &u.tried }

// testFailover runs traffic from logged-in users through a Manager on topo, kills a
// master in the middle of it (after freezing the replicas, with fc.lag) and checks:
// every request is answered within the store's deadline with the user's own session or
// the ErrorHandler's response; after the promotion the same cookies find their
// sessions, without restarting the application. With fc.durable, no write is
// acknowledged while the replicas are frozen, and every increment, login and logout
// acknowledged before the kill survives it. Without it, it counts what was lost, and
// with fc.lag checks that something was (the test did make the replicas lag).
func testFailover(t *testing.T, topo topology, fc failoverCase) {
	opts := redisstore.Options{}
	if fc.durable {
		opts.WaitReplicas = 1
	}
	h := newHAServer(t, topo, opts)

	const nUsers = 6
	users := make([]*haUser, nUsers)
	for i := range users {
		users[i] = h.newUser(fmt.Sprintf("user%d", i))
		if !h.loginUp(users[i]) {
			t.Fatalf("10 logins of %s failed with every server up: %q", users[i].name, h.errs[phaseNormal])
		}
	}
	// One user logs out before anything happens, one while the replicas lag, and
	// one logs in while they lag; all three on the master that will be killed, the
	// one of users[0].
	loginOn := func(name string) *haUser {
		for range 100 {
			u := h.newUser(name)
			if !h.loginUp(u) {
				return nil
			}
			if topo.SameMaster(t, u.key, users[0].key) {
				return u
			}
		}
		t.Fatalf("100 logins of %s found no session on the master of %s", name, users[0].name)
		return nil
	}
	early, late := loginOn("early"), loginOn("late")
	if early == nil || late == nil {
		t.Fatal("login failed with every server up")
	}
	if _, ok := h.do(early, "POST", "/logout"); !ok {
		t.Fatal("logout failed with every server up")
	}
	replicas := topo.Replicas(t)
	var stop atomic.Bool
	var wg sync.WaitGroup
	// Each browser paces itself (a few hundred requests a second in all), so that the
	// traffic does not starve the servers and the other tests of CPU.
	for _, u := range users {
		wg.Go(func() {
			for !stop.Load() {
				h.incr(u)
				h.do(u, "GET", "/read")
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	stopTraffic := func() {
		if !stop.Swap(true) {
			wg.Wait()
		}
	}
	t.Cleanup(stopTraffic)
	waitUntil(t, 20*time.Second, "three increments of every user", everyUser(users, phaseNormal, 3, acked))

	var newcomer *haUser
	lateOut, newcomerIn := false, false
	if fc.lag {
		// What was acknowledged so far is on the replicas (waited for: on a loaded
		// machine even loopback replication can be seconds behind, and a login not yet
		// replicated would be lost with the master); what follows lags.
		topo.CaughtUp(t)
		topo.Lag(t, users[0].key)
		h.phase.Store(phaseFrozen)
		waitUntil(t, 20*time.Second, "two increments of every user while the replicas are frozen",
			everyUser(users, phaseFrozen, 3, tried))
		_, lateOut = h.do(late, "POST", "/logout")
		if newcomer = loginOn("newcomer"); newcomer != nil {
			newcomerIn = true
		}
	}

	killed := time.Now()
	h.phase.Store(phaseKilled)
	var old string
	if fc.manual {
		old = topo.Switch(t, users[0].key)
	} else {
		old = topo.Kill(t, users[0].key)
		for _, r := range replicas {
			r.Thaw()
		}
		topo.Promoted(t)
	}
	promoted := time.Since(killed)
	h.phase.Store(phasePromoted)

	// After the promotion the same cookies work: reads always, writes when a replica
	// is left to acknowledge them or none is needed.
	writes := !fc.durable || topo.Resynced(t)
	if writes {
		waitUntil(t, 30*time.Second, "an acknowledged increment of every user after the promotion",
			everyUser(users, phasePromoted, 1, acked))
	} else {
		waitUntil(t, 30*time.Second, "two increments tried by every user after the promotion",
			everyUser(users, phasePromoted, 3, tried))
	}
	recovered := time.Since(killed)
	stopTraffic()

	if n := h.failed[phaseKilled].Load(); n == 0 && !fc.manual {
		t.Errorf("no request failed between the kill of the master and the promotion: the test missed the failover")
	}
	var total int64
	var frozen, lost, lostUsers int
	for _, u := range users {
		n, ok := h.do(u, "GET", "/read")
		if !ok {
			t.Errorf("after the promotion, GET /read as %s failed", u.name)
			continue
		}
		for _, c := range u.client.Jar.Cookies(mustURL(t, h.srv.URL)) {
			if c.Name == "session" && c.Value != u.cookie {
				t.Errorf("the session cookie of %s changed during the failover", u.name)
			}
		}
		if n < u.acked {
			u.lost += u.acked - n
		}
		total += u.ok[phaseNormal].Load() + u.ok[phaseFrozen].Load() + u.ok[phaseKilled].Load() + u.ok[phasePromoted].Load()
		frozen += u.frozen
		lost += u.lost
		if u.lost > 0 {
			lostUsers++
			if fc.durable {
				t.Errorf("%s: %d increments acknowledged with WaitReplicas=1 were undone by the failover", u.name, u.lost)
			}
		}
	}
	if h.lookup(early.cookie) == early.name {
		t.Errorf("a logout acknowledged before the replicas lagged was undone by the failover")
	}
	resurrected, lostLogins := 0, 0
	if lateOut && h.lookup(late.cookie) == late.name {
		resurrected++
	}
	if newcomerIn && h.lookup(newcomer.cookie) != newcomer.name {
		lostLogins++
	}
	switch {
	case fc.durable && fc.lag:
		if frozen != 0 || lateOut || newcomerIn {
			t.Errorf("with the replicas frozen and WaitReplicas=1, %d increments, the logout (%v) and the login (%v) were acknowledged; want errors",
				frozen, lateOut, newcomerIn)
		}
		if h.notReplicated[phaseFrozen].Load() == 0 {
			t.Errorf("with the replicas frozen and WaitReplicas=1, no failure wrapped ErrNotReplicated")
		}
	case fc.durable:
		if resurrected+lostLogins != 0 {
			t.Errorf("with WaitReplicas=1, %d acknowledged logouts were undone and %d logins lost", resurrected, lostLogins)
		}
	case fc.lag:
		// The master alone acknowledged what the frozen replicas never got: the
		// failover loses it. users[0] is on the master that was killed.
		if u := users[0]; u.frozen == 0 || u.lost < u.frozen {
			t.Errorf("%s had %d increments acknowledged while the replicas were frozen, and %d undone; want some, all undone",
				u.name, u.frozen, u.lost)
		}
		if !lateOut || resurrected == 0 || !newcomerIn || lostLogins == 0 {
			t.Errorf("with the replicas frozen, the logout was acknowledged: %v, and undone: %d; the login acknowledged: %v, and lost: %d; want both acknowledged and undone",
				lateOut, resurrected, newcomerIn, lostLogins)
		}
	}
	t.Logf("%s, %s: master %s failed over; promotion seen %v after the kill (or the handover); every user served again (%s) after %v; slowest request %v",
		topo, fc, old, promoted.Round(time.Millisecond), map[bool]string{true: "writes", false: "reads"}[writes],
		recovered.Round(time.Millisecond), time.Duration(h.slowest.Load()).Round(time.Millisecond))
	for ph := range haPhases {
		t.Logf("  %s: %d requests answered 200, %d by the ErrorHandler (%d short of replicas) %q",
			phaseNames[ph], h.ok[ph].Load(), h.failed[ph].Load(), h.notReplicated[ph].Load(), h.errs[ph])
	}
	t.Logf("  increments acknowledged: %d (%d while the replicas were frozen); lost in the failover: %d (%d of %d users); acknowledged logouts undone: %d of %d; acknowledged logins lost: %d of %d",
		total, frozen, lost, lostUsers, nUsers, resurrected, b2i(lateOut)+1, lostLogins, b2i(newcomerIn))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
