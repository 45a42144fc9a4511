// Package binary is a fast, compact [typedsession.Codec]: a binary encoding of the
// session struct, written and read by reflection along a plan compiled once per type.
// It uses the standard library only, and no unsafe.
//
//	m, err := typedsession.New[Profile](st, typedsession.Options{Codec: binary.Codec{}})
//
// The package is named after its directory; a file that also imports encoding/binary
// renames one of the two (import bincodec "github.com/seed96b21533/typedsession/codec/binary").
//
// # Why
//
// On the memory and cookie stores the codec is most of the cost of a request. On the
// benchmark workload's 440-byte Profile (bench/README.md) this codec decodes about 1.7
// times faster than github.com/goccy/go-json and 10 times faster than encoding/json,
// allocating one copy of the record for all its strings plus at most one allocation per
// slice, pointer and []byte and a few per map (3 for the Profile, against 14 and 25); it encodes
// with one allocation; and the record is 192 bytes where the JSON is 441, which
// matters in a 4096-byte cookie.
//
// # Trade-offs
//
// JSON ([typedsession.JSON]) stays the default. Choose this codec for memory and cookie
// sessions, where speed and size matter and sessions are short-lived; on Redis and
// PostgreSQL the round trip dominates and JSON's readability wins.
//
//   - Not readable: a session is opaque bytes in redis-cli and psql.
//   - Any change to the struct resets the sessions stored before it. Every record
//     starts with a version byte and a 64-bit fingerprint of the type's shape: the
//     names, order and kinds of the stored fields, recursively (struct and defined type
//     names are not part of it, so renaming a type is free). Adding a field, removing,
//     renaming or reordering one, or changing its type all change the fingerprint, and
//     Unmarshal of an older record fails with [ErrShapeChanged] rather than decoding
//     fields into the wrong places; the Manager then applies Options.OnDecodeError (by
//     default a fresh session and a warning). JSON, by contrast, keeps old sessions
//     across an added or removed field. Deploying a new struct therefore logs every
//     user out of state kept in the session (not out of the application, if login
//     lives elsewhere), so plan struct changes accordingly.
//   - Records of [typedsession.JSON] or codec/gojson are not read (they fail with
//     [ErrMalformed]): switching codecs also resets sessions.
//
// # What is stored
//
// Exported fields of structs, in declaration order, except those tagged
// `session:"-"`; unexported fields are not stored (a struct with only unexported
// fields and no marshaler is refused, since it would silently come back empty).
// Embedded structs are stored as one field named after their type; an unexported
// embedded struct with exported fields is refused (reflection cannot set them), unless
// tagged `session:"-"`. Supported:
// bool; all int and uint sizes (varints, zigzag for signed); float32, float64 and
// complex numbers (IEEE bits, so NaN payloads, infinities and -0 round-trip); string
// (any bytes, not checked for UTF-8); []byte and byte arrays; slices, arrays and maps of
// supported types (map keys of any supported type but pointers; entries are written
// sorted by key bytes, so a value always encodes the same); structs; pointers; time.Time;
// types implementing encoding.BinaryMarshaler and BinaryUnmarshaler, or else
// encoding.TextMarshaler and TextUnmarshaler (netip.Addr, big.Int...). Interfaces,
// channels and functions are refused with an error naming the field, when the type is
// first used. Recursive types (lists, trees) are supported, to 10000 levels of
// pointers, slices and maps; a cyclic value fails to encode.
//
// A round trip gives back a value reflect.DeepEqual to the original, with these
// exceptions: time.Time keeps its instant to the nanosecond (time.Time.Equal holds), drops
// its monotonic reading, and comes back in UTC if it was in time.UTC, else in a fixed
// zone with its offset and no name (as with encoding/json); marshaler types are what
// their UnmarshalBinary or UnmarshalText make of their bytes. Nil and empty slices and
// maps are told apart and preserved, as are nil pointers.
//
// # Format
//
// A record is the version byte (1), the fingerprint (8 bytes, little-endian), then the
// value: unsigned integers as varints, signed as zigzag varints, bools as one byte 0
// or 1, floats as their IEEE bits (little-endian), strings as a varint length and the
// bytes, slices and maps as a varint 0 for nil or 1+length and the elements (map keys
// and values alternating), arrays as their elements, structs as their stored fields in
// order, pointers as a byte 0 (nil) or 1 and the element, time.Time as the Unix
// seconds (zigzag), then nanoseconds<<1 | 1 for UTC (varint), else nanoseconds<<1 and
// the zone offset in seconds (zigzag), and marshalers as a length and their bytes.
//
// # Hostile input
//
// Unmarshal never panics on any input (fuzzed), and what it allocates is bounded by the
// length of its input, whether the record is well formed or not. Every length is
// checked against the bytes that remain, and every allocation is counted, before it is
// made, against a limit: 64 bytes for each byte of the record plus 16 KiB, or
// [Codec.MaxAlloc] if it is set. Unmarshal fails with [ErrTooLarge] instead of making
// the allocation that would go past the limit, so it allocates at most the limit,
// besides the error it returns, what is set up once per process (the plan of a type,
// on its first use), and what a type's own UnmarshalBinary or UnmarshalText allocates:
// that is given at most the bytes that remain, and trusted to allocate in proportion.
//
// The count is of memory, not of encoded bytes: a slice of n elements counts n times
// the size of its element, a pointer the size of what it points to (unexported and
// skipped fields included), a map its hash table as the Go runtime sizes it for its
// length (with room for tables that keys fill unevenly to grow), and []byte, the zone
// of a time and the one copy of the record that strings share count too, each rounded
// up at least as the Go allocator rounds sizes. The default limit leaves room for
// ordinary types: the 1 byte of an empty string or slice takes at most 24 bytes of
// memory, that of an empty map 56, and the few bytes of a map of one entry a hash
// table of 8 slots. A type whose values are much larger than their encoding, with
// large unexported fields in the elements of a slice, say, needs a higher MaxAlloc.
//
// Nesting takes goroutine stack, which is not counted: Unmarshal recurses through each
// struct, array, pointer, slice and map of the value, some 400 bytes of stack each, and
// refuses values nested more than 10000 pointers, slices and maps deep (a list 10000
// long takes about 8 MiB of stack).
//
// Unmarshal also rejects trailing bytes, invalid bools and pointer flags, integers that
// overflow the field, and duplicate map keys. The cookie store authenticates its bytes
// before the codec sees them; this is for corrupted server-side data.
package binary
