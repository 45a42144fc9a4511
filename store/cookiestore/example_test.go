package cookiestore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
)

func Example() {
	// In production: 32 bytes from crypto/rand, kept in a secret store, never in code.
	key := []byte("0123456789abcdef0123456789abcdef")
	st, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	// A Manager does this on every write.
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	value, err := st.Save(ctx, "", 0, store.Record{
		Data:    []byte(`{"Name":"Ada"}`),
		Created: now,
		Expiry:  now.Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	rec, found, err := st.Load(ctx, value)
	fmt.Println(string(rec.Data), found, err)

	// One character changed: not a session.
	forged := value[:20] + string(value[20]^1) + value[21:]
	_, found, err = st.Load(ctx, forged)
	fmt.Println(found, err)

	// The largest session that fits in a cookie with these options.
	fmt.Println(st.MaxData(0), "bytes")
	// Output:
	// {"Name":"Ada"} true <nil>
	// false <nil>
	// 2848 bytes
}

// To rotate keys, put the new key first; cookies sealed with the old key still open and
// are sealed with the new key on their next write.
func ExampleNew_rotation() {
	oldKey := []byte("0123456789abcdef0123456789abcdef")
	newKey := []byte("fedcba9876543210fedcba9876543210")

	before, _ := cookiestore.New(cookiestore.Options{Keys: [][]byte{oldKey}})
	after, _ := cookiestore.New(cookiestore.Options{Keys: [][]byte{newKey, oldKey}})
	retired, _ := cookiestore.New(cookiestore.Options{Keys: [][]byte{newKey}})

	ctx := context.Background()
	rec := store.Record{Data: []byte("cart"), Expiry: time.Now().Add(time.Hour)}
	value, _ := before.Save(ctx, "", 0, rec)

	_, found, _ := after.Load(ctx, value)
	fmt.Println("old cookie opens after rotation:", found)
	resealed, _ := after.Save(ctx, value, 0, rec)
	_, found, _ = retired.Load(ctx, resealed)
	fmt.Println("re-sealed cookie opens without the old key:", found)
	_, found, _ = retired.Load(ctx, value)
	fmt.Println("old cookie opens without the old key:", found)
	// Output:
	// old cookie opens after rotation: true
	// re-sealed cookie opens without the old key: true
	// old cookie opens without the old key: false
}
