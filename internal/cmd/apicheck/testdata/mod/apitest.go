// Package apitest is the input of apicheck's tests: one declaration of each kind
// of exported API.
package apitest

import (
	"context"
	"io"
	"time"
)

// Constants, typed and untyped.
const (
	Untyped                     = 100_000
	UntypedString               = "a\tb"
	UntypedFloat                = 1.5
	UntypedRune                 = 'x'
	Typed         time.Duration = 2 * time.Second
	TypedLocal    Level         = iota
	TypedLocal2
	unexportedConst = 1
)

// Level is a defined integer type with a method.
type Level int

func (l Level) String() string { return "" }

// Variables.
var (
	ErrX  = io.EOF
	Bytes []byte
	Hook  func(ctx context.Context, n ...int) (int, error)
	Chans struct {
		In   <-chan int
		Out  chan<- []rune
		Both chan (<-chan bool)
	}
	Anon struct {
		A int `json:"a"`
		b string
		io.Reader
	}
	Arr           [4]map[string]*Level
	unexportedVar int
)

// Funcs.
func F(a, b int, s string) (bool, error) { return false, nil }
func Variadic(prefix string, xs ...any)  {}
func NoResult()                          {}
func unexportedFunc()                    {}

// Number is a constraint with a type set.
type Number interface {
	~int | ~int64 | ~float64
}

// Sum is a generic function with a constraint of the package.
func Sum[N Number](xs ...N) N { var s N; return s }

// Index has a constraint written as a type term and one referring to another
// type parameter.
func Index[S ~[]E, E comparable](s S, e E) int { return -1 }

// Map has an explicit interface constraint.
func Map[K interface{ comparable }, V interface{ ~string }](m map[K]V) []K { return nil }

// List is a generic type with methods on the value and on the pointer.
type List[T any] struct {
	Items []T
	next  *List[T]
}

func (l List[T]) Len() int                  { return len(l.Items) }
func (l *List[T]) Push(v T)                 { l.Items = append(l.Items, v) }
func (l *List[T]) Each(f func(int, T) bool) {}
func (l *List[T]) Clone() *List[T]          { return nil }
func (l *List[T]) unexportedMethod()        {}

// Pair has two type parameters, the second constrained.
type Pair[K comparable, V Number] struct {
	Key K
	Val V
}

// First returns the first element of a Pair.
func (p Pair[K, V]) First() K { return p.Key }

// ReadCloser embeds an interface of another package and one of this package.
type ReadCloser interface {
	io.Reader
	Closer
	Extra(ctx context.Context) (n int, err error)
}

// Closer is a plain interface.
type Closer interface {
	Close() error
}

// Sealed cannot be implemented outside the package.
type Sealed interface {
	Public()
	sealed()
}

// Empty is an empty interface.
type Empty interface{}

// Struct has exported, unexported and embedded fields.
type Struct struct {
	Name string `json:"name"`
	age  int
	Level
	*List[string]
	inner
	io.Writer
	Fn func(Struct) *Struct
}

type inner struct{ Promoted int }

func (inner) InnerMethod() {}

// NewInner returns an unexported type.
func NewInner() *inner { return nil }

// Alias is an alias of a type of another package; GenericAlias a generic alias.
type (
	Alias               = time.Time
	GenericAlias[T any] = List[T]
	AnyAlias            = any
)

// Func is a defined function type.
type Func func(AnyAlias, []byte, rune) error

// unexported types are not listed.
type hidden struct{ X int }

// Getter is a generic interface.
type Getter[T any] interface {
	Get() T
}

// GetCloser embeds an instance of a generic interface.
type GetCloser[T any] interface {
	Getter[T]
	Closer
}

// Big is a float constant that a float64 cannot hold exactly.
const Big = 0.1
