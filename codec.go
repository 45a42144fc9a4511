package typedsession

import "encoding/json"

// Codec turns a session value into bytes and back. Marshal receives a *T and Unmarshal a
// *T, where T is the Manager's type. A Codec must be safe for concurrent use.
//
// Unmarshal is called on a zero T. An error from Unmarshal means the stored bytes no
// longer describe a T (the struct changed shape between deploys, say); the Manager then
// applies Options.OnDecodeError.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: encoding/json. Sessions stay readable in redis-cli and psql,
// and a struct that gains a field still decodes the records written before.
type JSON struct{}

// Marshal implements [Codec].
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements [Codec].
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
