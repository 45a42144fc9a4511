package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// recordFormat is the first byte of an encoded Record.
const recordFormat = 1

// recordHeader is the length of the fixed part of an encoded Record.
const recordHeader = 1 + 8 + 8 + 8 + 1

var errRecordFormat = errors.New("store: malformed record encoding")

// AppendBinary appends the binary encoding of r to b, for stores that keep a record as
// one opaque value (a Redis string, a sealed cookie). The layout is stable:
//
//	byte 0       format, 1
//	bytes 1-8    Version, big-endian (a store script may compare it without decoding)
//	bytes 9-16   Expiry, Unix milliseconds, big-endian
//	bytes 17-24  Created, Unix milliseconds, big-endian
//	byte 25      flags: bit 0 is Persist
//	uvarint      length of Owner, then Owner
//	the rest     Data
//
// Times are kept to the millisecond, as the Manager makes them.
func (r Record) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, recordFormat)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(unixMilli(r.Expiry)))
	b = binary.BigEndian.AppendUint64(b, uint64(unixMilli(r.Created)))
	var flags byte
	if r.Persist {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(r.Owner)))
	b = append(b, r.Owner...)
	return append(b, r.Data...), nil
}

// MarshalBinary returns the encoding described at [Record.AppendBinary].
func (r Record) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, recordHeader+2+len(r.Owner)+len(r.Data)))
}

// UnmarshalBinary decodes the encoding described at [Record.AppendBinary]. r.Data
// aliases b.
func (r *Record) UnmarshalBinary(b []byte) error {
	if len(b) < recordHeader || b[0] != recordFormat || b[25]&^1 != 0 {
		return errRecordFormat
	}
	n, w := binary.Uvarint(b[recordHeader:])
	rest := b[recordHeader:]
	if w <= 0 || n > uint64(len(rest)-w) {
		return errRecordFormat
	}
	rest = rest[w:]
	*r = Record{
		Version: binary.BigEndian.Uint64(b[1:]),
		Expiry:  fromMilli(int64(binary.BigEndian.Uint64(b[9:]))),
		Created: fromMilli(int64(binary.BigEndian.Uint64(b[17:]))),
		Persist: b[25]&1 != 0,
		Owner:   string(rest[:n]),
		Data:    rest[n:],
	}
	return nil
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
