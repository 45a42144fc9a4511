package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// The binary encoding of a Record, as [Record.AppendBinary] writes it, for stores that
// keep a record as one opaque value (a Redis string, a sealed cookie) and for scripts
// that read or change a field in place without decoding the rest. All integers are
// big-endian; times are Unix milliseconds, 0 for the zero time.
//
//	byte 0       format: RecordFormat (2)
//	bytes 1-8    Version (RecordVersionOffset)
//	bytes 9-16   Expiry (RecordExpiryOffset)
//	bytes 17-24  Created
//	bytes 25-32  Active (RecordActiveOffset)
//	byte 33      flags: bit 0 RememberMe, bits 1-2 Ended
//	uvarint      length of Owner, then Owner (from RecordHeaderLen)
//	the rest     Data
//
// [Record.UnmarshalBinary] also reads format 1, which the first release wrote and
// which stores may still hold: the same layout without Active (bytes 25-32) and without
// Ended, its flags at byte 25 and its Owner from byte 26 (RecordHeaderLenV1).
const (
	RecordFormat        = 2  // the format byte AppendBinary writes
	RecordFormatV1      = 1  // the format byte of the first release's records
	RecordVersionOffset = 1  // where the 8 bytes of Version start, in both formats
	RecordExpiryOffset  = 9  // where the 8 bytes of Expiry start, in both formats
	RecordActiveOffset  = 25 // where the 8 bytes of Active start, in format 2
	RecordHeaderLen     = 34 // the fixed part of format 2; the Owner's length follows
	RecordHeaderLenV1   = 26 // the fixed part of format 1
)

const (
	createdOffset = 17
	flagsV1       = 25
	flagsV2       = 33
	flagRemember  = 1
	endedShift    = 1
	endedMask     = 3 << endedShift
)

var errRecordFormat = errors.New("store: malformed record encoding")

// AppendBinary appends the binary encoding of r (see [RecordFormat]) to b. It never
// fails; the error is there to implement encoding.BinaryAppender.
func (r Record) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, RecordFormat)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(unixMilli(r.Expiry)))
	b = binary.BigEndian.AppendUint64(b, uint64(unixMilli(r.Created)))
	b = binary.BigEndian.AppendUint64(b, uint64(unixMilli(r.Active)))
	flags := byte(r.Ended) << endedShift & endedMask
	if r.RememberMe {
		flags |= flagRemember
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(r.Owner)))
	b = append(b, r.Owner...)
	return append(b, r.Data...), nil
}

// EncodedLen returns the length of the binary encoding of r.
func (r Record) EncodedLen() int {
	return RecordHeaderLen + uvarintLen(uint64(len(r.Owner))) + len(r.Owner) + len(r.Data)
}

// MarshalBinary returns the binary encoding of r (see [RecordFormat]).
func (r Record) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, r.EncodedLen()))
}

// UnmarshalBinary decodes a record in either format (see [RecordFormat]). r.Data aliases
// b.
func (r *Record) UnmarshalBinary(b []byte) error {
	var header int
	var flags byte
	var active time.Time
	switch {
	case len(b) >= RecordHeaderLen && b[0] == RecordFormat:
		header, flags = RecordHeaderLen, b[flagsV2]
		if flags&^(flagRemember|endedMask) != 0 || EndReason(flags&endedMask>>endedShift) > Destroyed {
			return errRecordFormat
		}
		active = fromMilli(int64(binary.BigEndian.Uint64(b[RecordActiveOffset:])))
	case len(b) >= RecordHeaderLenV1 && b[0] == RecordFormatV1:
		header, flags = RecordHeaderLenV1, b[flagsV1]
		if flags&^flagRemember != 0 {
			return errRecordFormat
		}
	default:
		return errRecordFormat
	}
	rest := b[header:]
	n, w := binary.Uvarint(rest)
	if w <= 0 || n > uint64(len(rest)-w) {
		return errRecordFormat
	}
	rest = rest[w:]
	*r = Record{
		Version:    binary.BigEndian.Uint64(b[RecordVersionOffset:]),
		Expiry:     fromMilli(int64(binary.BigEndian.Uint64(b[RecordExpiryOffset:]))),
		Created:    fromMilli(int64(binary.BigEndian.Uint64(b[createdOffset:]))),
		Active:     active,
		RememberMe: flags&flagRemember != 0,
		Ended:      EndReason(flags & endedMask >> endedShift),
		Owner:      string(rest[:n]),
		Data:       rest[n:],
	}
	return nil
}

// OwnerOffset returns where the uvarint length of the Owner starts in an encoded
// record of the given format byte, for scripts that parse records of both formats.
func OwnerOffset(format byte) int {
	if format == RecordFormatV1 {
		return RecordHeaderLenV1
	}
	return RecordHeaderLen
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
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
