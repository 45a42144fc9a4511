package redisstore_test

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// A Manager over Redis. The application owns the rueidis client (standalone, Sentinel
// or Cluster) and closes it; the store only borrows it. (Compiled, not run: it needs a
// Redis.)
func Example() {
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		log.Fatalf("redis at %s: %v", addr, err)
	}
	defer client.Close()

	st, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}
	type Profile struct{ Name string }
	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		p, err := sessions.Get(r.Context())
		if err != nil {
			return // answered by Options.ErrorHandler: 503 when Redis is down
		}
		fmt.Fprintf(w, "hello, %s", p.Name)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(mux)))
}
