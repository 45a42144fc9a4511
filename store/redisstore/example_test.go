package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession"
	"github.com/seed96b21533/typedsession/internal/testenv"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

func Example() {
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{testenv.Getenv("REDIS_ADDR", "127.0.0.1:6379")},
	})
	if err != nil {
		fmt.Println("no Redis:", err) // the example needs a Redis to run
		return
	}
	defer client.Close()

	type Profile struct{ Name string }
	st, err := redisstore.New(client, redisstore.Options{Prefix: "example-session:"})
	if err != nil {
		fmt.Println(err)
		return
	}
	sessions, err := typedsession.New[Profile](st, typedsession.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = sessions // r.Use(sessions.Handler)

	// The store underneath: a token, a record, and its expiry in Redis.
	ctx := context.Background()
	token, err := st.Save(ctx, "", 0, store.Record{
		Data:    []byte(`{"Name":"Ada"}`),
		Expiry:  time.Now().Add(time.Hour),
		Version: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Delete(ctx, token)
	rec, found, err := st.Load(ctx, token)
	fmt.Println(string(rec.Data), found, err)
}
