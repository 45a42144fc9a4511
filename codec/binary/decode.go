package binary

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"
)

type decoder struct {
	data  []byte
	off   int
	str   string // string(data), made on the first non-empty string; strings share it
	depth int
	left  int // bytes the decode may still allocate (see alloc)
	limit int // bytes it may allocate in all
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), d.off)
}

func (d *decoder) uvarint() (uint64, error) {
	if off := d.off; uint(off) < uint(len(d.data)) && d.data[off] < 0x80 { // inlined: most lengths and ints
		d.off = off + 1
		return uint64(d.data[off]), nil
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() (uint64, error) {
	var x uint64
	for i, s := 0, uint(0); i < 10; i, s = i+1, s+7 {
		if d.off >= len(d.data) {
			return 0, d.errorf("truncated varint")
		}
		b := d.data[d.off]
		d.off++
		if b < 0x80 {
			if i == 9 && b > 1 {
				break
			}
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
	}
	return 0, d.errorf("varint overflows 64 bits")
}

func (d *decoder) varint() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// length reads a length and checks that n items of at least min bytes each fit in
// what remains, before anything is allocated for them.
func (d *decoder) length(n uint64, min int) (int, error) {
	if n > uint64(len(d.data)-d.off)/uint64(max(min, 1)) {
		return 0, d.tooLong(n)
	}
	return int(n), nil
}

func (d *decoder) tooLong(n uint64) error {
	return d.errorf("length %d exceeds the remaining %d bytes", n, len(d.data)-d.off)
}

func (d *decoder) take(n int) []byte {
	b := d.data[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

func (d *decoder) fixed32() (uint32, error) {
	if len(d.data)-d.off < 4 {
		return 0, d.errorf("truncated float")
	}
	b := d.take(4)
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, nil
}

func (d *decoder) fixed64() (uint64, error) {
	if len(d.data)-d.off < 8 {
		return 0, d.errorf("truncated float")
	}
	b := d.take(8)
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("nested more than %d levels deep", maxDepth)
	}
	return nil
}

// value decodes into v, which is addressable, of type p.typ, and holds its zero value.
func (d *decoder) value(p *plan, v reflect.Value) error {
	switch p.op {
	case opBool:
		if d.off >= len(d.data) {
			return d.errorf("truncated bool")
		}
		switch d.data[d.off] {
		case 0:
		case 1:
			v.SetBool(true)
		default:
			return d.errorf("bool byte %#x", d.data[d.off])
		}
		d.off++
	case opInt:
		x, err := d.varint()
		if err != nil {
			return err
		}
		if p.bits < 64 && x != x<<(64-p.bits)>>(64-p.bits) {
			return d.errorf("%d overflows %s", x, p.typ)
		}
		v.SetInt(x)
	case opUint:
		x, err := d.uvarint()
		if err != nil {
			return err
		}
		if p.bits < 64 && x>>p.bits != 0 {
			return d.errorf("%d overflows %s", x, p.typ)
		}
		v.SetUint(x)
	case opFloat32:
		x, err := d.fixed32()
		if err != nil {
			return err
		}
		v.SetFloat(float64(math.Float32frombits(x)))
	case opFloat64:
		x, err := d.fixed64()
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(x))
	case opComplex64:
		re, err := d.fixed32()
		if err != nil {
			return err
		}
		im, err := d.fixed32()
		if err != nil {
			return err
		}
		v.SetComplex(complex(float64(math.Float32frombits(re)), float64(math.Float32frombits(im))))
	case opComplex128:
		re, err := d.fixed64()
		if err != nil {
			return err
		}
		im, err := d.fixed64()
		if err != nil {
			return err
		}
		v.SetComplex(complex(math.Float64frombits(re), math.Float64frombits(im)))
	case opString:
		u, err := d.uvarint()
		if err != nil {
			return err
		}
		n, err := d.length(u, 1)
		if err != nil || n == 0 {
			return err
		}
		if d.str == "" {
			if err := d.alloc(len(d.data), 1); err != nil {
				return err
			}
			d.str = string(d.data)
		}
		v.SetString(d.str[d.off : d.off+n])
		d.off += n
	case opBytes:
		u, err := d.uvarint()
		if err != nil || u == 0 {
			return err // 0: nil
		}
		n, err := d.length(u-1, 1)
		if err != nil {
			return err
		}
		if err := d.alloc(n, 1); err != nil {
			return err
		}
		b := make([]byte, n)
		copy(b, d.take(n))
		v.SetBytes(b)
	case opByteArray:
		if len(d.data)-d.off < p.n {
			return d.errorf("truncated byte array")
		}
		copy(v.Bytes(), d.take(p.n))
	case opSlice:
		u, err := d.uvarint()
		if err != nil || u == 0 {
			return err // 0: nil
		}
		n, err := d.length(u-1, p.elem.min)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		if n == 0 {
			v.Set(p.empty) // empty, not nil
			d.depth--
			return nil
		}
		if err := d.alloc(n, p.elem.size); err != nil {
			return err
		}
		// Grow and SetLen work in place: MakeSlice would allocate a slice header too.
		v.Grow(n)
		v.SetLen(n)
		for i := range n {
			if err := d.value(p.elem, v.Index(i)); err != nil {
				return err
			}
		}
		d.depth--
	case opArray:
		for i := range p.n {
			if err := d.value(p.elem, v.Index(i)); err != nil {
				return err
			}
		}
	case opMap:
		u, err := d.uvarint()
		if err != nil || u == 0 {
			return err // 0: nil
		}
		n, err := d.length(u-1, p.key.min+p.elem.min)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		if err := d.charge(mapSize(p, n)); err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(p.typ, n)
		if n > 0 {
			k := reflect.New(p.key.typ).Elem()
			x := reflect.New(p.elem.typ).Elem()
			for range n {
				k.SetZero()
				x.SetZero()
				if err := d.value(p.key, k); err != nil {
					return err
				}
				if err := d.value(p.elem, x); err != nil {
					return err
				}
				m.SetMapIndex(k, x)
			}
			if m.Len() != n {
				return d.errorf("duplicate map key")
			}
		}
		v.Set(m)
		d.depth--
	case opStruct:
		for i := range p.fields {
			f := &p.fields[i]
			if err := d.value(f.plan, v.Field(f.index)); err != nil {
				return err
			}
		}
	case opPtr:
		if d.off >= len(d.data) {
			return d.errorf("truncated pointer")
		}
		switch d.data[d.off] {
		case 0:
			d.off++
			return nil
		case 1:
			d.off++
		default:
			return d.errorf("pointer flag %#x", d.data[d.off])
		}
		if err := d.enter(); err != nil {
			return err
		}
		if err := d.alloc(1, p.elem.size); err != nil {
			return err
		}
		x := reflect.New(p.elem.typ)
		if err := d.value(p.elem, x.Elem()); err != nil {
			return err
		}
		v.Set(x)
		d.depth--
	case opTime:
		return d.time(v)
	case opBinary, opText:
		u, err := d.uvarint()
		if err != nil {
			return err
		}
		n, err := d.length(u, 1)
		if err != nil {
			return err
		}
		b := d.take(n)
		if p.op == opBinary {
			err = v.Addr().Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
		} else {
			err = v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(b)
		}
		if err != nil {
			return fmt.Errorf("%w: unmarshaling %s: %w", ErrMalformed, p.typ, err)
		}
	}
	return nil
}

// maxUnix is the latest Unix second a time.Time holds: it counts seconds from year 1.
const maxUnix = math.MaxInt64 - 62135596800

func (d *decoder) time(v reflect.Value) error {
	sec, err := d.varint()
	if err != nil {
		return err
	}
	ns, err := d.uvarint()
	if err != nil {
		return err
	}
	if sec > maxUnix {
		return d.errorf("seconds %d out of range", sec)
	}
	if ns>>1 >= 1e9 {
		return d.errorf("nanoseconds %d out of range", ns>>1)
	}
	t := time.Unix(sec, int64(ns>>1))
	if ns&1 == 1 {
		t = t.UTC()
	} else {
		off, err := d.varint()
		if err != nil {
			return err
		}
		if off < -maxZoneOffset || off > maxZoneOffset {
			return d.errorf("zone offset %d out of range", off)
		}
		loc, err := d.zone(int(off))
		if err != nil {
			return err
		}
		t = t.In(loc)
	}
	*v.Addr().Interface().(*time.Time) = t
	return nil
}

// zones caches the fixed zones that time.FixedZone does not (it caches the whole hours
// from -12 to +14), so that decoding a time in +05:30 does not allocate a Location
// each time. It holds at most maxZones entries, whatever the input, in a map made for
// that many, so that adding one allocates nothing.
var zones = struct {
	sync.RWMutex
	m map[int]*time.Location
}{m: make(map[int]*time.Location, maxZones)}

const maxZones = 64

// zone returns the unnamed fixed zone off seconds east of UTC; one that has to be made
// counts against the limit.
func (d *decoder) zone(off int) (*time.Location, error) {
	if off%3600 == 0 && -12*3600 <= off && off <= 14*3600 {
		return time.FixedZone("", off), nil
	}
	zones.RLock()
	loc := zones.m[off]
	zones.RUnlock()
	if loc != nil {
		return loc, nil
	}
	if err := d.charge(zoneSize); err != nil {
		return nil, err
	}
	loc = time.FixedZone("", off)
	zones.Lock()
	if len(zones.m) < maxZones {
		zones.m[off] = loc
	}
	zones.Unlock()
	return loc, nil
}
