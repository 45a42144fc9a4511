package binary

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/seed96b21533/typedsession"
)

// Errors returned by [Codec.Unmarshal], wrapped with details; test them with errors.Is.
var (
	// ErrShapeChanged means the record was written for another shape of the type: a
	// field was added, removed, renamed, reordered or changed type since.
	ErrShapeChanged = errors.New("codec/binary: record was written for another shape of the type")
	// ErrMalformed means the bytes are not a well-formed record of this codec:
	// truncated, corrupted, trailing bytes, or written by another codec.
	ErrMalformed = errors.New("codec/binary: malformed record")
	// ErrTooLarge means decoding the record would allocate more memory than the limit
	// (see [Codec.MaxAlloc]): the record is corrupted or hostile, or its type's values
	// take much more memory than their encoding (large unexported or skipped fields in
	// the elements of a slice, say), and MaxAlloc should be raised for it.
	ErrTooLarge = errors.New("codec/binary: record needs more memory than the limit")
)

// version is the first byte of every record: the format of what follows.
const version = 1

// headerLen is the version byte and the 8-byte fingerprint of the type's shape.
const headerLen = 9

// Codec is a [typedsession.Codec] that writes a compact binary encoding (see the package
// documentation for the format and its trade-offs). The zero value is ready to use and
// safe for concurrent use.
type Codec struct {
	// MaxAlloc, if positive, is the most memory in bytes that one Unmarshal allocates
	// for the value it decodes, counted as the package documentation says under
	// "Hostile input". If it is zero or negative, the limit is 64 bytes for each byte
	// of the record, plus 16 KiB. Past the limit, Unmarshal fails with [ErrTooLarge].
	MaxAlloc int
}

var _ typedsession.Codec = Codec{}

// Marshal implements [typedsession.Codec]. v is a non-nil *T; a value that is not a
// pointer is encoded as a T of its own type, so Marshal(x) and Marshal(&x) write the same
// bytes. It fails if T, or a type stored in it, is not supported (an interface, a
// channel, a function), or if the value nests more than 10000 pointers, slices and maps
// deep (a cyclic value).
func (Codec) Marshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil, errors.New("codec/binary: Marshal(nil)")
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, fmt.Errorf("codec/binary: Marshal of a nil %s", rv.Type())
		}
		rv = rv.Elem()
	}
	r := rootFor(rv.Type())
	if r.err != nil {
		return nil, r.err
	}
	e := encoder{buf: make([]byte, headerLen, max(r.hint.Load(), 64))}
	e.buf[0] = version
	putFingerprint(e.buf[1:headerLen], r.fp)
	if err := e.value(r.plan, rv); err != nil {
		return nil, err
	}
	if n := int64(len(e.buf)); n > r.hint.Load() {
		r.hint.Store(n + n/8)
	} else if n < r.hint.Load()/4 {
		r.hint.Store(n + n/8)
	}
	return e.buf, nil
}

// Unmarshal implements [typedsession.Codec]. v is a non-nil *T; *v is set to the zero
// T first. An error wraps [ErrShapeChanged] when data was written for another shape of
// T, [ErrMalformed] when data is not a well-formed record, and [ErrTooLarge] when the
// value would take more memory than the limit (see [Codec.MaxAlloc]); *v then holds a
// partial value. Strings in the result share one copy of data, made once per call: a
// string kept from the value keeps that copy alive.
func (c Codec) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("codec/binary: Unmarshal needs a non-nil pointer, not %T", v)
	}
	rv = rv.Elem()
	r := rootFor(rv.Type())
	if r.err != nil {
		return r.err
	}
	if len(data) < headerLen || data[0] != version {
		return fmt.Errorf("%w: not a codec/binary record (version %d)", ErrMalformed, version)
	}
	if fp := fingerprintOf(data[1:headerLen]); fp != r.fp {
		return fmt.Errorf("%w: record fingerprint %016x, %s has %016x", ErrShapeChanged, fp, rv.Type(), r.fp)
	}
	rv.SetZero()
	limit := c.limit(len(data))
	d := decoder{data: data, off: headerLen, left: limit, limit: limit}
	if err := d.value(r.plan, rv); err != nil {
		return err
	}
	if d.off != len(data) {
		return d.errorf("%d trailing bytes", len(data)-d.off)
	}
	return nil
}

func putFingerprint(b []byte, fp uint64) {
	for i := range 8 {
		b[i] = byte(fp >> (8 * i))
	}
}

func fingerprintOf(b []byte) uint64 {
	var fp uint64
	for i := range 8 {
		fp |= uint64(b[i]) << (8 * i)
	}
	return fp
}
