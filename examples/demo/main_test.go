package main

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
)

func TestDemo(t *testing.T) {
	store, closeStore, err := openStore("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	testDemo(t, store)
}

// TestDemoMongo runs the demo with STORE=mongo, on the MongoDB at MONGO_URL (FerretDB
// under CI), in a database of its own.
func TestDemoMongo(t *testing.T) {
	db := "typedsession_demo_test_" + rand.Text()[:8]
	t.Setenv("MONGO_DB", db)
	store, closeStore, err := openStore("mongo")
	if err != nil {
		testenv.Unavailable(t, "MongoDB at MONGO_URL", err)
	}
	t.Cleanup(func() {
		closeStore()
		c, err := mongo.Connect(options.Client().ApplyURI(getenv("MONGO_URL", "mongodb://127.0.0.1:27017")))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Disconnect(context.Background())
		if err := c.Database(db).Drop(context.Background()); err != nil {
			t.Errorf("dropping %s: %v", db, err)
		}
	})
	testDemo(t, store)
}

// TestDemoMongoDown checks that STORE=mongo without a server is an error that names
// MONGO_URL, without its password.
func TestDemoMongoDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	t.Setenv("MONGO_URL", "mongodb://demo:secret@"+addr+"/?directConnection=true&serverSelectionTimeoutMS=300")
	_, _, err = openStore("mongo")
	if err == nil || !strings.Contains(err.Error(), "MONGO_URL=mongodb://demo:xxxxx@"+addr) || strings.Contains(err.Error(), "secret") {
		t.Errorf("openStore(mongo) with no server at MONGO_URL: err = %v; want an error naming MONGO_URL, without the password", err)
	}
}

func testDemo(t *testing.T, store store.Store) {
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
