package cookiestore_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/storetest"
)

func TestManager(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) store.Store {
		s, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{newKey(t)}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storetest.ManagerOptions{ClientSide: true})
}

// TestManagerTooLarge drives a Manager over the cookie store through a real client: a
// Put that would pass the cookie limit reaches the ErrorHandler as ErrTooLarge, sends no
// Set-Cookie, and the client's previous cookie keeps working. The largest session that
// fits makes a Set-Cookie header within the limit, with every attribute the Manager sets.
func TestManagerTooLarge(t *testing.T) {
	t.Parallel()
	st, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{newKey(t)}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var handled []error
	m, err := typedsession.New[string](st, typedsession.Options{
		Domain:     "sub.example-application.com",
		Path:       "/account/settings",
		RememberMe: true,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			handled = append(handled, err)
			mu.Unlock()
			http.Error(w, "session too large", http.StatusRequestEntityTooLarge)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /account/settings/put", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.FormValue("n"))
		if err := m.Put(r.Context(), strings.Repeat(r.FormValue("c"), n)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /account/settings/get", func(w http.ResponseWriter, r *http.Request) {
		v, err := m.Get(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%c%d", append([]rune(v), '-')[0], len(v))
	})
	ts := httptest.NewTLSServer(m.Handler(mux))
	t.Cleanup(ts.Close)
	client := ts.Client()
	// The cookie's Domain is not this test server's host, so a cookie jar would not send
	// it back: the test carries it by hand.
	var carried []*http.Cookie
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+"/account/settings/"+path+"?"+form.Encode(), nil)
		for _, c := range carried {
			req.AddCookie(c)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	// A JSON string of n 'a's is n+2 bytes of Data. With a Domain, the default cookie
	// name is "__Secure-session", to which the Manager binds the store.
	largest := named(t, st, "__Secure-session").MaxData(0) - 2
	resp, body := do("POST", "put", url.Values{"c": {"a"}, "n": {strconv.Itoa(largest)}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Put of the largest session: status %d, body %q", resp.StatusCode, body)
	}
	setCookie := resp.Header.Get("Set-Cookie")
	if setCookie == "" {
		t.Fatal("no Set-Cookie for the largest session")
	}
	if len(setCookie) > cookiestore.CookieLimit {
		t.Errorf("Set-Cookie of the largest session is %d bytes, over %d: %.120q...", len(setCookie), cookiestore.CookieLimit, setCookie)
	}
	t.Logf("largest session: %d bytes of data, Set-Cookie %d bytes with attributes %q", largest+2, len(setCookie), setCookie[strings.Index(setCookie, ";"):])
	carried = resp.Cookies()
	if _, body := do("GET", "get", nil); body != fmt.Sprintf("a%d", largest) {
		t.Fatalf("Get after the largest Put = %q, want %q", body, fmt.Sprintf("a%d", largest))
	}

	// One byte more: ErrTooLarge through the ErrorHandler, and no new cookie.
	resp, body = do("POST", "put", url.Values{"c": {"b"}, "n": {strconv.Itoa(largest + 1)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize Put: status %d (%q), want the ErrorHandler's 413", resp.StatusCode, body)
	}
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		t.Errorf("oversize Put sent Set-Cookie %.80q...; want none, so the old cookie stays", sc)
	}
	mu.Lock()
	if len(handled) != 1 || !errors.Is(handled[0], typedsession.ErrTooLarge) {
		t.Errorf("ErrorHandler got %v, want one error wrapping ErrTooLarge", handled)
	}
	mu.Unlock()
	if _, body := do("GET", "get", nil); body != fmt.Sprintf("a%d", largest) {
		t.Errorf("after the refused Put, Get = %q, want the previous session %q", body, fmt.Sprintf("a%d", largest))
	}
}
