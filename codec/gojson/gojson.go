package gojson

import (
	json "github.com/goccy/go-json"

	"github.com/seed96b21533/typedsession"
)

// Codec is a [typedsession.Codec] that writes and reads JSON with
// github.com/goccy/go-json. The zero value is ready to use and safe for concurrent use.
type Codec struct{}

var _ typedsession.Codec = Codec{}

// Marshal implements [typedsession.Codec].
func (Codec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements [typedsession.Codec].
func (Codec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
