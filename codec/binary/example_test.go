package binary_test

import (
	"errors"
	"fmt"

	"github.com/seed96b21533/typedsession/codec/binary"
)

func Example() {
	type Cart struct {
		Items []string
		Total int64
	}
	var codec binary.Codec // typedsession.Options{Codec: binary.Codec{}}

	data, err := codec.Marshal(&Cart{Items: []string{"book", "pen"}, Total: 4249})
	if err != nil {
		panic(err)
	}
	var got Cart
	if err := codec.Unmarshal(data, &got); err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes: %+v\n", len(data), got)

	// A later deploy adds a field: records written before no longer decode, and the
	// Manager starts a fresh session (Options.OnDecodeError).
	type CartV2 struct {
		Items  []string
		Total  int64
		Coupon string
	}
	var v2 CartV2
	err = codec.Unmarshal(data, &v2)
	fmt.Println(errors.Is(err, binary.ErrShapeChanged))
	// Output:
	// 21 bytes: {Items:[book pen] Total:4249}
	// true
}
