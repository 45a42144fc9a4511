package binary

import (
	"bytes"
	"encoding"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
)

// maxDepth bounds how many pointers, slices and maps deep a value may nest, on encode
// (a cyclic value would otherwise recurse forever) and on decode (hostile input).
const maxDepth = 10000

// Offsets of zones are bounded so that a hostile record cannot make time arithmetic
// overflow; real offsets are within a day.
const maxZoneOffset = 7 * 24 * 3600

type encoder struct {
	buf   []byte
	depth int
}

func (e *encoder) uvarint(x uint64) {
	for x >= 0x80 {
		e.buf = append(e.buf, byte(x)|0x80)
		x >>= 7
	}
	e.buf = append(e.buf, byte(x))
}

func (e *encoder) varint(x int64) { e.uvarint(uint64(x<<1) ^ uint64(x>>63)) }

func (e *encoder) fixed32(x uint32) {
	e.buf = append(e.buf, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
}

func (e *encoder) fixed64(x uint64) {
	e.buf = append(e.buf, byte(x), byte(x>>8), byte(x>>16), byte(x>>24),
		byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56))
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxDepth {
		return fmt.Errorf("codec/binary: value nested more than %d levels deep (a cycle?)", maxDepth)
	}
	return nil
}

// value appends the encoding of v, whose type is p.typ.
func (e *encoder) value(p *plan, v reflect.Value) error {
	switch p.op {
	case opBool:
		if v.Bool() {
			e.buf = append(e.buf, 1)
		} else {
			e.buf = append(e.buf, 0)
		}
	case opInt:
		e.varint(v.Int())
	case opUint:
		e.uvarint(v.Uint())
	case opFloat32:
		e.fixed32(math.Float32bits(float32(v.Float())))
	case opFloat64:
		e.fixed64(math.Float64bits(v.Float()))
	case opComplex64:
		c := v.Complex()
		e.fixed32(math.Float32bits(float32(real(c))))
		e.fixed32(math.Float32bits(float32(imag(c))))
	case opComplex128:
		c := v.Complex()
		e.fixed64(math.Float64bits(real(c)))
		e.fixed64(math.Float64bits(imag(c)))
	case opString:
		s := v.String()
		e.uvarint(uint64(len(s)))
		e.buf = append(e.buf, s...)
	case opBytes:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		b := v.Bytes()
		e.uvarint(uint64(len(b)) + 1)
		e.buf = append(e.buf, b...)
	case opByteArray:
		if v.CanAddr() {
			e.buf = append(e.buf, v.Bytes()...)
		} else {
			for i := range p.n {
				e.buf = append(e.buf, byte(v.Index(i).Uint()))
			}
		}
	case opSlice:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		n := v.Len()
		e.uvarint(uint64(n) + 1)
		for i := range n {
			if err := e.value(p.elem, v.Index(i)); err != nil {
				return err
			}
		}
		e.depth--
	case opArray:
		for i := range p.n {
			if err := e.value(p.elem, v.Index(i)); err != nil {
				return err
			}
		}
	case opMap:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		if err := e.mapEntries(p, v); err != nil {
			return err
		}
		e.depth--
	case opStruct:
		for i := range p.fields {
			f := &p.fields[i]
			if err := e.value(f.plan, v.Field(f.index)); err != nil {
				return err
			}
		}
	case opPtr:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		e.buf = append(e.buf, 1)
		if err := e.value(p.elem, v.Elem()); err != nil {
			return err
		}
		e.depth--
	case opTime:
		return e.time(v)
	case opBinary, opText:
		return e.marshaler(p, v)
	}
	return nil
}

// time writes Unix seconds (zigzag), then nanoseconds<<1 | 1 for UTC, then, unless
// UTC, the zone offset in seconds (zigzag).
func (e *encoder) time(v reflect.Value) error {
	var t time.Time
	if v.CanAddr() {
		t = *v.Addr().Interface().(*time.Time) // no allocation, unlike Interface
	} else {
		t = v.Interface().(time.Time)
	}
	sec := t.Unix()
	if sec > maxUnix { // made by time.Unix with an overflowing argument
		return fmt.Errorf("codec/binary: time out of range: %d Unix seconds", sec)
	}
	e.varint(sec)
	ns := uint64(t.Nanosecond()) << 1
	if t.Location() == time.UTC {
		e.uvarint(ns | 1)
		return nil
	}
	_, off := t.Zone()
	if off < -maxZoneOffset || off > maxZoneOffset {
		return fmt.Errorf("codec/binary: zone offset %ds of %v is out of range", off, t)
	}
	e.uvarint(ns)
	e.varint(int64(off))
	return nil
}

func (e *encoder) marshaler(p *plan, v reflect.Value) error {
	if p.ptrRecv {
		if !v.CanAddr() {
			c := reflect.New(p.typ).Elem()
			c.Set(v)
			v = c
		}
		v = v.Addr()
	}
	var b []byte
	var err error
	if p.op == opBinary {
		b, err = v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
	} else {
		b, err = v.Interface().(encoding.TextMarshaler).MarshalText()
	}
	if err != nil {
		return fmt.Errorf("codec/binary: marshaling %s: %w", p.typ, err)
	}
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
	return nil
}

// mapEntries writes the length and the entries sorted by the bytes of their keys, so
// that a value always encodes to the same bytes.
func (e *encoder) mapEntries(p *plan, v reflect.Value) error {
	n := v.Len()
	e.uvarint(uint64(n) + 1)
	if n == 0 {
		return nil
	}
	type span struct{ start, keyEnd, end int }
	spans := make([]span, 0, n)
	base := len(e.buf)
	k := reflect.New(p.key.typ).Elem()
	x := reflect.New(p.elem.typ).Elem()
	it := v.MapRange()
	for it.Next() {
		k.SetIterKey(it)
		x.SetIterValue(it)
		s := span{start: len(e.buf)}
		if err := e.value(p.key, k); err != nil {
			return err
		}
		s.keyEnd = len(e.buf)
		if err := e.value(p.elem, x); err != nil {
			return err
		}
		s.end = len(e.buf)
		spans = append(spans, s)
	}
	if n == 1 {
		return nil
	}
	entries := e.buf[base:]
	slices.SortFunc(spans, func(a, b span) int {
		return bytes.Compare(entries[a.start-base:a.keyEnd-base], entries[b.start-base:b.keyEnd-base])
	})
	unsorted := bytes.Clone(entries)
	out := entries[:0]
	for _, s := range spans {
		out = append(out, unsorted[s.start-base:s.end-base]...)
	}
	return nil
}
