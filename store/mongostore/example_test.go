package mongostore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/store/mongostore"
)

// A Manager over MongoDB: a client that writes with majority and reads from the
// primary, the indexes made, and the cleanup started where the server has no TTL
// index. (This example needs a server, so it is compiled but not run.)
func Example() {
	type Profile struct {
		UserID int64
		Name   string
	}
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().
		ApplyURI("mongodb://db1.example,db2.example,db3.example/?replicaSet=rs0&w=majority&readPreference=primary"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)

	st, err := mongostore.New(client.Database("app").Collection("sessions"), mongostore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	setup, err := st.Setup(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range setup.Unsupported {
		log.Printf("%s: %s", setup.Server, u)
	}
	if setup.NeedsCleanup() {
		st.StartCleanup(time.Minute)
	}
	defer st.Close()

	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		p, err := sessions.Get(r.Context())
		if err != nil {
			return // reported through Options.ErrorHandler
		}
		fmt.Fprintf(w, "hello, %s", p.Name)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(mux)))
}
