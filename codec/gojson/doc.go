// Package gojson is a fast [typedsession.Codec]: JSON through github.com/goccy/go-json, a
// pure-Go, drop-in replacement for encoding/json.
//
//	m, err := typedsession.New[Profile](st, typedsession.Options{Codec: gojson.Codec{}})
//
// # Why
//
// The codec is the main cost of a request on the memory and cookie stores: everything
// else is a map lookup or one AES-GCM open. On the benchmark workload (bench/README.md,
// a 440-byte Profile) this codec decodes about 6x faster than encoding/json and encodes
// about 3x faster, with about half the allocations. On Redis and PostgreSQL the round
// trip dominates and the codec barely shows.
//
// # Trade-offs
//
// The bytes are JSON, the same JSON encoding/json writes, so everything the default
// [typedsession.JSON] promises still holds, and the two codecs read each other's records:
// switching between them needs no migration.
//
//   - Readable: a session is plain JSON in redis-cli and psql.
//   - The struct gains a field: old records decode and the new field is zero.
//     The struct loses a field: the stored key is ignored. A field changes type
//     (string to int, say): Unmarshal fails and the Manager applies its
//     decode-error policy (by default, a fresh session).
//   - Unexported fields are not stored, as with encoding/json; neither are fields
//     tagged `json:"-"`. Struct tags, json.Marshaler, encoding.TextMarshaler are honoured.
//   - time.Time goes through its MarshalJSON: RFC 3339 with nanoseconds, the zone kept as
//     an offset (the *time.Location name is lost, as with encoding/json).
//   - Interface fields (any) decode as map[string]any, []any, float64, string, bool or
//     nil, as with encoding/json: the concrete type is lost. Keep session types concrete.
//
// What it costs: a dependency outside the standard library (kept out of the root
// package, so only programs that import this package compile it), and a library that
// reaches its speed with unsafe and generated per-type code paths, where encoding/json is
// plain reflection. Its tests here check that it agrees with encoding/json on a round
// trip over many types, and a fuzz test checks that on any input it does not panic and
// accepts and decodes what encoding/json accepts the same way.
//
// JSON through encoding/json stays the default: it is standard, readable, and the
// difference only matters where nothing else costs anything (memory and cookie stores).
package gojson
