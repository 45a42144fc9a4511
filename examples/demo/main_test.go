package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed96b21533/typedsession"
)

func TestDemo(t *testing.T) {
	store, closeStore, err := openStore("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	sessions, err := typedsession.New[Profile](store, typedsession.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRouter(sessions))
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)

	get := func() string {
		t.Helper()
		resp, err := client.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		resp, err := client.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: status %d", path, resp.StatusCode)
		}
	}

	if body := get(); !strings.Contains(body, "Log in") {
		t.Fatalf("first visit: no login form in %q", body)
	}
	post("/login", url.Values{"name": {"Ada"}})
	post("/cart", url.Values{"sku": {"PEN-LAMY-SAFARI"}})
	post("/cart", url.Values{"sku": {"PEN-LAMY-SAFARI"}})
	body := get()
	if !strings.Contains(body, "Hello, <b>Ada</b>") || !strings.Contains(body, "<td>PEN-LAMY-SAFARI</td><td>2</td>") {
		t.Fatalf("after login and two adds, page = %q", body)
	}
	// A second browser logs in as the same user; "log out everywhere else" ends it.
	other := &http.Client{Transport: srv.Client().Transport}
	other.Jar, _ = cookiejar.New(nil)
	if resp, err := other.PostForm(srv.URL+"/login", url.Values{"name": {"Ada"}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if body := get(); strings.Count(body, "<td>this browser</td>") != 1 || strings.Count(body, `<tr class="session">`) != 2 {
		t.Fatalf("your sessions: want two sessions listed, one of them this browser: %q", body)
	}
	post("/logout/others", nil)
	if body := get(); strings.Count(body, `<tr class="session">`) != 1 {
		t.Fatalf("after log out everywhere else, want one session left: %q", body)
	}
	resp, err := other.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "Hello") {
		t.Fatalf("the other browser is still logged in after log out everywhere else")
	}

	post("/logout", nil)
	if body := get(); strings.Contains(body, "Ada") || strings.Contains(body, "<td>PEN-LAMY") {
		t.Fatalf("after logout the page still shows the session: %q", body)
	}
}
