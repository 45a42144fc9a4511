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
	post("/logout", nil)
	if body := get(); strings.Contains(body, "Ada") || strings.Contains(body, "<td>PEN-LAMY") {
		t.Fatalf("after logout the page still shows the session: %q", body)
	}
}
