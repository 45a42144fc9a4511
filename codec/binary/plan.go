package binary

import (
	"encoding"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// op is what a plan node does; encode and decode switch on it.
type op uint8

const (
	opBool op = iota
	opInt
	opUint
	opFloat32
	opFloat64
	opComplex64
	opComplex128
	opString
	opBytes     // a slice whose element kind is uint8: length and raw bytes
	opByteArray // an array whose element kind is uint8: raw bytes
	opSlice
	opArray
	opMap
	opStruct
	opPtr
	opTime   // time.Time
	opBinary // encoding.BinaryMarshaler and BinaryUnmarshaler
	opText   // encoding.TextMarshaler and TextUnmarshaler
)

// plan is the compiled encoding of one type. Nodes of recursive types point back at
// their ancestors, so a plan is a graph; it is immutable once built.
type plan struct {
	op      op
	typ     reflect.Type
	bits    int           // opInt, opUint: the size of the kind, for overflow checks
	elem    *plan         // opSlice, opArray, opPtr: the element; opMap: the value
	key     *plan         // opMap
	fields  []field       // opStruct
	n       int           // opArray, opByteArray: the length
	min     int           // the fewest bytes a value of this type encodes to
	size    int           // typ.Size(): the bytes a value takes in memory
	group   int           // opMap: the bytes of a group of the runtime's hash table
	empty   reflect.Value // opSlice: an empty slice, set without allocating
	ptrRecv bool          // opBinary, opText: the marshaler needs an addressable value
	done    bool          // set when the node is complete (recursion guard while building)
}

type field struct {
	index int
	name  string
	plan  *plan
}

// root is the cached plan of a type given to Marshal or Unmarshal.
type root struct {
	plan *plan
	fp   uint64 // fingerprint of the shape, written in the header
	err  error  // the type is not supported
	hint atomic.Int64
}

var roots sync.Map // reflect.Type -> *root

// rootFor returns the plan of t, building it on first use.
func rootFor(t reflect.Type) *root {
	if r, ok := roots.Load(t); ok {
		return r.(*root)
	}
	r := &root{}
	b := builder{plans: map[reflect.Type]*plan{}}
	r.plan, r.err = b.build(t, t.String())
	if r.err == nil {
		r.fp = fingerprint(r.plan)
	}
	actual, _ := roots.LoadOrStore(t, r)
	return actual.(*root)
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalType   = reflect.TypeFor[encoding.TextUnmarshaler]()
)

type builder struct {
	plans map[reflect.Type]*plan // every node of this build, complete or not
}

// build returns the plan of t. where names the place t occurs, for errors: the
// root type's name, or Struct.Field of the nearest enclosing struct field.
func (b *builder) build(t reflect.Type, where string) (*plan, error) {
	if p, ok := b.plans[t]; ok {
		return p, nil // complete, or an ancestor of this node (a recursive type)
	}
	p := &plan{typ: t, size: int(t.Size())}
	b.plans[t] = p
	if err := b.fill(p, t, where); err != nil {
		return nil, err
	}
	p.done = true
	return p, nil
}

func (b *builder) fill(p *plan, t reflect.Type, where string) error {
	if t.Kind() == reflect.Interface {
		return fmt.Errorf("codec/binary: interface fields are not supported: %s (%s)", where, t)
	}
	if t == timeType {
		p.op, p.min = opTime, 2
		return nil
	}
	if t.Kind() != reflect.Pointer {
		pt := reflect.PointerTo(t)
		switch {
		case pt.Implements(binaryUnmarshalType) && pt.Implements(binaryMarshalerType):
			p.op, p.min, p.ptrRecv = opBinary, 1, !t.Implements(binaryMarshalerType)
			return nil
		case pt.Implements(textUnmarshalType) && pt.Implements(textMarshalerType):
			p.op, p.min, p.ptrRecv = opText, 1, !t.Implements(textMarshalerType)
			return nil
		}
	}
	switch k := t.Kind(); k {
	case reflect.Bool:
		p.op, p.min = opBool, 1
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.op, p.min, p.bits = opInt, 1, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.op, p.min, p.bits = opUint, 1, t.Bits()
	case reflect.Float32:
		p.op, p.min = opFloat32, 4
	case reflect.Float64:
		p.op, p.min = opFloat64, 8
	case reflect.Complex64:
		p.op, p.min = opComplex64, 8
	case reflect.Complex128:
		p.op, p.min = opComplex128, 16
	case reflect.String:
		p.op, p.min = opString, 1
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !isMarshaler(t.Elem()) {
			p.op, p.min = opBytes, 1
			return nil
		}
		elem, err := b.build(t.Elem(), where)
		if err != nil {
			return err
		}
		if elem.done && elem.min == 0 {
			return fmt.Errorf("codec/binary: slices of types that encode to no bytes are not supported: %s (%s)", where, t)
		}
		p.op, p.min, p.elem = opSlice, 1, elem
		p.empty = reflect.MakeSlice(t, 0, 0) // its data is the runtime's zero-size base
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !isMarshaler(t.Elem()) {
			p.op, p.min, p.n = opByteArray, t.Len(), t.Len()
			return nil
		}
		elem, err := b.build(t.Elem(), where)
		if err != nil {
			return err
		}
		p.op, p.elem, p.n = opArray, elem, t.Len()
		p.min = satMul(elem.min, t.Len())
	case reflect.Map:
		if t.Key().Kind() == reflect.Pointer {
			return fmt.Errorf("codec/binary: map keys of pointer type are not supported: %s (%s)", where, t)
		}
		key, err := b.build(t.Key(), where)
		if err != nil {
			return err
		}
		elem, err := b.build(t.Elem(), where)
		if err != nil {
			return err
		}
		if key.done && elem.done && key.min+elem.min == 0 {
			return fmt.Errorf("codec/binary: maps whose entries encode to no bytes are not supported: %s (%s)", where, t)
		}
		p.op, p.min, p.key, p.elem = opMap, 1, key, elem
		p.group = mapGroupSize(t.Key(), t.Elem())
	case reflect.Pointer:
		elem, err := b.build(t.Elem(), where)
		if err != nil {
			return err
		}
		p.op, p.min, p.elem = opPtr, 1, elem
	case reflect.Struct:
		p.op = opStruct
		unexported := false
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				if f.Anonymous && hasExported(f.Type) && f.Tag.Get("session") != "-" {
					// encoding/json would store its promoted fields; reflection cannot
					// set them, so refuse rather than drop them silently.
					return fmt.Errorf("codec/binary: embedded unexported struct %s has exported fields; export it or tag it `session:\"-\"`: %s.%s", f.Type, t.Name(), f.Name)
				}
				unexported = true
				continue
			}
			if f.Tag.Get("session") == "-" {
				continue
			}
			name := t.Name()
			if name == "" {
				name = "struct"
			}
			fp, err := b.build(f.Type, name+"."+f.Name)
			if err != nil {
				return err
			}
			p.fields = append(p.fields, field{index: i, name: f.Name, plan: fp})
			p.min = satAdd(p.min, fp.min)
		}
		if unexported && len(p.fields) == 0 {
			// A struct of unexported fields only (big.Int, say) would be stored as
			// nothing and come back as its zero value: refuse rather than lose data.
			return fmt.Errorf("codec/binary: %s has only unexported fields and no (Binary|Text)Marshaler: %s", t, where)
		}
	default: // Chan, Func, UnsafePointer
		return fmt.Errorf("codec/binary: %s values are not supported: %s (%s)", t.Kind(), where, t)
	}
	return nil
}

func hasExported(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			return true
		}
	}
	return false
}

func isMarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(binaryMarshalerType) || pt.Implements(textMarshalerType)
}

func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func satMul(a, n int) int {
	if n != 0 && a > math.MaxInt/n {
		return math.MaxInt
	}
	return a * n
}

// fingerprint hashes the shape of p: for structs the names and shapes of the stored
// fields in order, for containers their element shapes, for the rest the kind (or, for
// marshalers, the type's full name, since the bytes are theirs). Type names of structs
// and defined types are left out: renaming a type does not change its records.
// Recursion is written as a reference to the ancestor, counted upwards, so the
// fingerprint depends only on the root type, never on the order types were seen in.
func fingerprint(p *plan) uint64 {
	s := shaper{memo: map[*plan]string{}}
	str, _ := s.shape(p)
	h := fnv.New64a()
	h.Write([]byte(str))
	return h.Sum64()
}

type shaper struct {
	stack []*plan
	memo  map[*plan]string // shapes that do not refer to their ancestors
}

// shape returns p's shape and the lowest stack index it refers to (len(stack) if none).
func (s *shaper) shape(p *plan) (string, int) {
	for i, q := range s.stack {
		if q == p {
			return "^" + strconv.Itoa(len(s.stack)-i), i
		}
	}
	if str, ok := s.memo[p]; ok {
		return str, len(s.stack)
	}
	me := len(s.stack)
	s.stack = append(s.stack, p)
	low := me + 1
	sub := func(q *plan) string {
		str, l := s.shape(q)
		low = min(low, l)
		return str
	}
	var str string
	switch p.op {
	case opBool, opInt, opUint, opFloat32, opFloat64, opComplex64, opComplex128, opString:
		str = p.typ.Kind().String()
	case opBytes:
		str = "[]uint8"
	case opByteArray:
		str = "[" + strconv.Itoa(p.n) + "]uint8"
	case opSlice:
		str = "[]" + sub(p.elem)
	case opArray:
		str = "[" + strconv.Itoa(p.n) + "]" + sub(p.elem)
	case opMap:
		str = "map[" + sub(p.key) + "]" + sub(p.elem)
	case opPtr:
		str = "*" + sub(p.elem)
	case opTime:
		str = "time"
	case opBinary:
		str = "binary(" + p.typ.PkgPath() + "." + p.typ.String() + ")"
	case opText:
		str = "text(" + p.typ.PkgPath() + "." + p.typ.String() + ")"
	case opStruct:
		str = "struct{"
		for _, f := range p.fields {
			str += f.name + " " + sub(f.plan) + ";"
		}
		str += "}"
	}
	s.stack = s.stack[:me]
	if low >= me {
		s.memo[p] = str
	}
	return str, min(low, me)
}
