package binary_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/seed96b21533/typedsession/codec/binary"
)

// The struct as deployed first, and the shapes a later deploy might give it.
type (
	shapeV1 struct {
		Name  string
		Count int
		Size  int
		Tags  []string
		Item  item
	}
	sameShapeOtherName struct { // renaming the type (or its fields' types) is free
		Name  string
		Count int
		Size  int
		Tags  []string
		Item  struct {
			SKU        string
			Qty        int
			PriceCents int64
		}
	}
	withSkipped struct { // a skipped or unexported field is not part of the shape
		Name    string
		Count   int
		Size    int
		Tags    []string
		Item    item
		Cache   map[string]any `session:"-"`
		private int
	}
	added struct {
		Name  string
		Count int
		Size  int
		Tags  []string
		Item  item
		New   bool
	}
	removed struct { // Count and Size are both varints: without the fingerprint, Size would land in Count
		Name string
		Size int
		Tags []string
		Item item
	}
	renamed struct {
		Title string
		Count int
		Size  int
		Tags  []string
		Item  item
	}
	retyped struct {
		Name  string
		Count int64
		Size  int
		Tags  []string
		Item  item
	}
	reordered struct {
		Name  string
		Size  int
		Count int
		Tags  []string
		Item  item
	}
	elemRetyped struct {
		Name  string
		Count int
		Size  int
		Tags  [][]byte
		Item  item
	}
	nestedChanged struct {
		Name  string
		Count int
		Size  int
		Tags  []string
		Item  struct {
			SKU        string
			Qty        int
			PriceCents int64
			Note       string
		}
	}
	pointered struct {
		Name  string
		Count int
		Size  int
		Tags  []string
		Item  *item
	}
)

// TestShapeChanged checks the schema-evolution promise: a record decodes only into a
// struct of the same shape, and any other shape fails with ErrShapeChanged instead of
// decoding fields into the wrong places.
func TestShapeChanged(t *testing.T) {
	t.Parallel()
	data, err := binary.Codec{}.Marshal(&shapeV1{Name: "n", Count: 1, Size: 2, Tags: []string{"t"}, Item: item{SKU: "s", Qty: 3, PriceCents: 4}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		into    any
		changed bool
	}{
		{"same type", new(shapeV1), false},
		{"other type name", new(sameShapeOtherName), false},
		{"skipped and unexported fields added", &withSkipped{private: 0}, false},
		{"field added", new(added), true},
		{"field removed", new(removed), true},
		{"field renamed", new(renamed), true},
		{"field type changed", new(retyped), true},
		{"fields reordered", new(reordered), true},
		{"slice element type changed", new(elemRetyped), true},
		{"nested struct gained a field", new(nestedChanged), true},
		{"value became pointer", new(pointered), true},
		{"other type entirely", new(profile), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := binary.Codec{}.Unmarshal(data, tc.into)
			if tc.changed {
				if !errors.Is(err, binary.ErrShapeChanged) {
					t.Fatalf("Unmarshal into %T: error = %v, want ErrShapeChanged", tc.into, err)
				}
				if !reflect.ValueOf(tc.into).Elem().IsZero() {
					t.Errorf("Unmarshal into %T failed but changed the target: %+v", tc.into, tc.into)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal into %T: %v", tc.into, err)
			}
			if got := reflect.ValueOf(tc.into).Elem().FieldByName("Size").Int(); got != 2 {
				t.Errorf("Size = %d, want 2", got)
			}
		})
	}
}

// TestRecursiveShapes checks that recursive types get a fingerprint that is stable
// (the same whatever other types were used first) and that tells changed recursive
// shapes apart.
func TestRecursiveShapes(t *testing.T) {
	t.Parallel()
	type listB struct {
		Val  int
		Next *listB
	}
	type listC struct { // same fields, but Next points to a list of another shape
		Val  int
		Next *list
	}
	type listD struct {
		Val  int
		Next *listD
		Prev *listD
	}
	data, err := binary.Codec{}.Marshal(&list{Val: 1, Next: &list{Val: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var b listB
	if err := (binary.Codec{}).Unmarshal(data, &b); err != nil || b.Next == nil || b.Next.Val != 2 {
		t.Errorf("Unmarshal into an identically shaped recursive type: %+v, %v", b, err)
	}
	// listC is *list one level down, which has the same shape as listB's: it is an
	// unrolled list of the same shape, and the fingerprint need not tell them apart,
	// but it must not panic or hang.
	var c listC
	_ = binary.Codec{}.Unmarshal(data, &c)
	var d listD
	if err := (binary.Codec{}).Unmarshal(data, &d); !errors.Is(err, binary.ErrShapeChanged) {
		t.Errorf("Unmarshal into a list with an extra pointer: %v, want ErrShapeChanged", err)
	}
	var m struct{ E even }
	if _, err := (binary.Codec{}).Marshal(&m); err != nil {
		t.Errorf("Marshal of mutually recursive types: %v", err)
	}
}
