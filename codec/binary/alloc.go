package binary

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
)

// The default limit of what one Unmarshal allocates: allocPerByte bytes for each byte
// of the record, plus allocSlack. An empty string or slice takes at most 24 bytes of
// memory for its one encoded byte, an empty map 56; the slack lets a small record hold
// a few maps, whose hash tables take more.
const (
	allocPerByte = 64
	allocSlack   = 16 << 10
)

// limit returns how many bytes an Unmarshal of a record of n bytes may allocate.
func (c Codec) limit(n int) int {
	if c.MaxAlloc > 0 {
		return c.MaxAlloc
	}
	return satAdd(satMul(n, allocPerByte), allocSlack)
}

// alloc counts an allocation of n values of size bytes against the limit, before it
// is made.
func (d *decoder) alloc(n, size int) error {
	hi, lo := bits.Mul64(uint64(n), uint64(size))
	if hi != 0 || lo > uint64(d.left) {
		return d.tooLarge(satMul(n, size))
	}
	return d.charge(allocSize(int(lo)))
}

// charge counts c bytes against the limit.
func (d *decoder) charge(c int) error {
	if c > d.left {
		return d.tooLarge(c)
	}
	d.left -= c
	return nil
}

func (d *decoder) tooLarge(c int) error {
	return fmt.Errorf("%w: %d more bytes at offset %d, with %d left of the limit of %d",
		ErrTooLarge, c, d.off, d.left, d.limit)
}

// allocSize is at least what the Go allocator takes for an object of n bytes: it
// rounds small sizes up to a size class, adds an 8-byte header to objects of more than
// 512 bytes that hold pointers, and rounds objects of more than 32 KiB up to 8 KiB
// pages. Below 16 bytes the tiny allocator takes at most 16; up to 256 bytes the size
// classes are the multiples of 16 (and 8 and 24), up to 512 those of 32; above, n/4+16
// covers the header and the gap to the next class or page, which is under 25%.
func allocSize(n int) int {
	switch {
	case n <= 256:
		return (n + 15) &^ 15
	case n <= 512:
		return (n + 31) &^ 31
	case n > math.MaxInt/2:
		return math.MaxInt
	}
	return n + n/4 + 16
}

// Sizes in the runtime's maps (internal/runtime/maps: the swiss tables of Go 1.24 and
// later), for mapSize.
const (
	mapHeaderSize    = 48   // maps.Map, the map value itself
	mapTableSize     = 48   // maps.table (32 bytes on 64-bit systems), rounded up
	mapGroupSlots    = 8    // slots of a group; a map of up to 8 entries is one group
	mapTableCapacity = 1024 // slots of the largest table; larger maps have several
	mapMaxInline     = 128  // keys and values larger than this are stored by pointer
)

// mapGroupSize returns the size of a group of the hash table of map[k]e: a control
// word and 8 slots of a key and a value, as the runtime and reflect lay it out.
func mapGroupSize(k, e reflect.Type) int {
	if k.Size() > mapMaxInline {
		k = reflect.PointerTo(k)
	}
	if e.Size() > mapMaxInline {
		e = reflect.PointerTo(e)
	}
	slot := reflect.StructOf([]reflect.StructField{{Name: "Key", Type: k}, {Name: "Elem", Type: e}})
	return satAdd(8, satMul(mapGroupSlots, int(slot.Size())))
}

// mapSize is an upper estimate of the bytes allocated to make a map of type p.typ for
// n entries and insert at most n keys into it, with the key and the value that the
// entries are decoded into. A map of up to 8 entries is one group; a larger one has
// tables of up to 1024 slots, a power of two, sized for n entries at 7/8 of their
// slots. A single table never grows, since n entries fit in it. With several, keys
// fill them unevenly and some grow or split once, each allocating at most twice its
// slots again (a second time would take twice its share of keys, which random hash
// seeds make vanishingly unlikely); so several tables count three times.
func mapSize(p *plan, n int) int {
	c := allocSize(mapHeaderSize)
	if n == 0 {
		return c
	}
	c = satAdd(c, allocSize(p.key.size)) // the key and value decoded into
	c = satAdd(c, allocSize(p.elem.size))
	if p.key.size > mapMaxInline { // each inserted key is allocated
		c = satAdd(c, satMul(allocSize(p.key.size), n))
	}
	if p.elem.size > mapMaxInline {
		c = satAdd(c, satMul(allocSize(p.elem.size), n))
	}
	if n <= mapGroupSlots {
		return satAdd(c, allocSize(p.group))
	}
	target := n + n/7 // n*8/7 slots, without overflow
	dir := pow2((target + mapTableCapacity - 1) / mapTableCapacity)
	slots := max(mapGroupSlots, pow2(target/dir))
	table := satAdd(allocSize(mapTableSize), allocSize(satMul(slots/mapGroupSlots, p.group)))
	tables := satAdd(satMul(table, dir), allocSize(satMul(dir, 8))) // and the directory
	if dir > 1 {
		tables = satMul(tables, 3)
	}
	return satAdd(c, tables)
}

// pow2 returns the least power of two at least n, for n >= 1.
func pow2(n int) int {
	if n > math.MaxInt/2 {
		return math.MaxInt // saturates, as an estimate above any allocation
	}
	return 1 << bits.Len(uint(n-1))
}

// zoneSize is at least what time.FixedZone allocates for a zone it does not cache: a
// time.Location and the one-element slices of its zone and its transition (112, 32
// and 16 bytes after rounding, in Go 1.26).
const zoneSize = 256
