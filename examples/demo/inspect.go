package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
	"github.com/seed96b21533/typedsession/store/cookiestore"
	"github.com/seed96b21533/typedsession/store/memstore"
	"github.com/seed96b21533/typedsession/store/pgstore"
	"github.com/seed96b21533/typedsession/store/redisstore"
)

// This file reads a session's record the way its store keeps it, for the page's "as
// the server keeps it" panel. It goes around the library on purpose, to show what is
// stored; an application never needs it.

// rawView is one session's record as its store keeps it.
type rawView struct {
	Title   string   // what the store keeps: "a Redis string", "a row", ...
	Where   string   // where: the key, the table
	Size    int      // bytes the store keeps, or 0 when it keeps no encoding
	Rows    []rawRow // the stored value, part by part
	Data    string   // the session value as the codec encoded it, indented to read
	Version uint64
	Note    string
	// VersionNote says what the version is for, where it is not a compare-and-swap.
	VersionNote string
	Try         string // a command that shows the same from a shell
	Missing     bool   // nothing is stored under the session's key
}

// rawRow is one part of a stored record: its bytes or column as stored, and what they
// mean.
type rawRow struct{ Field, Stored, Meaning string }

// rawReader is a store the demo can read raw records from (the wrappers below).
type rawReader interface {
	readRaw(ctx context.Context, token string) (rawView, error)
}

// readRaw reads the record of the session whose token is token from st. bound is st
// bound to the Manager's cookie name (the cookie store seals the name in).
func readRaw(ctx context.Context, st, bound store.Store, token string) (rawView, error) {
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	if r, ok := st.(rawReader); ok {
		return r.readRaw(ctx, token)
	}
	if _, ok := st.(*cookiestore.Store); ok {
		return readCookie(ctx, bound, token)
	}
	rec, found, err := bound.Load(ctx, token)
	if err != nil {
		return rawView{}, err
	}
	v := rawView{
		Title:   "the record as Store.Load returns it",
		Note:    "The demo has no raw view of this store: this is the store.Record it returns, decoded.",
		Missing: !found,
	}
	if _, ok := st.(*memstore.Store); ok {
		v.Title = "a store.Record in a Go map"
		v.Where = "this process's memory, under the SHA-256 of the token"
		v.Note = "memstore keeps the store.Record struct itself, in one of 64 shards of a map keyed by the token's SHA-256: nothing is encoded, so these fields are all there is. Restart the demo and it is gone."
	}
	v.fill(rec)
	return v, nil
}

// inspectTimeout bounds the raw read, as Options.StoreTimeout bounds the library's.
const inspectTimeout = 2 * time.Second

// fill sets the parts of v that come from the decoded record.
func (v *rawView) fill(rec store.Record) {
	v.Version = rec.Version
	v.Data = indentData(rec.Data)
	if len(v.Rows) == 0 {
		v.Rows = recordRows(rec)
	}
}

// recordRows lists the fields of rec.
func recordRows(rec store.Record) []rawRow {
	return []rawRow{
		{"Version", strconv.FormatUint(rec.Version, 10), "one more on every write: the compare-and-swap checks it"},
		{"Expiry", stamp(rec.Expiry), "the earlier of 30 min idle and 24 h from creation"},
		{"Created", stamp(rec.Created), "the 24-hour lifetime counts from here; renewing keeps it"},
		{"Active", stamp(rec.Active), "last use, written at most once a minute when nothing else changes"},
		{"Owner", strconv.Quote(rec.Owner), "the user, for listing and ending their sessions"},
		{"RememberMe", strconv.FormatBool(rec.RememberMe), "a persistent cookie (Max-Age) or a browser-session one"},
		{"Ended", strconv.Quote(rec.Ended.String()), "set only on the marker a renewed or destroyed session leaves for a minute"},
		{"Data", fmt.Sprintf("%d bytes", len(rec.Data)), "the session value, encoded by the codec (JSON): below"},
	}
}

// key returns the KV key of token: its SHA-256, as the stores key records.
func key(token string) []byte {
	k := sha256.Sum256([]byte(token))
	return k[:]
}

// redisRaw is the Redis store, with raw reads.
type redisRaw struct {
	*redisstore.Store
	client rueidis.Client
}

func (s redisRaw) readRaw(ctx context.Context, token string) (rawView, error) {
	k := redisPrefix + string(key(token))
	res := s.client.DoMulti(ctx,
		s.client.B().Get().Key(k).Build(),
		s.client.B().Pexpiretime().Key(k).Build(),
	)
	b, err := res[0].AsBytes()
	v := rawView{
		Title: "a Redis string",
		Where: "key " + redisPrefix + `\x` + hex.EncodeToString(key(token)) + " (the prefix, then the 32 raw bytes of the token's SHA-256)",
		Try:   `redis-cli -h HOST -p PORT --no-raw GET "$(printf '` + redisPrefix + escapeBytes(key(token)) + `')"`,
	}
	if rueidis.IsRedisNil(err) {
		v.Missing = true
		return v, nil
	}
	if err != nil {
		return rawView{}, err
	}
	var rec store.Record
	if err := rec.UnmarshalBinary(b); err != nil {
		return rawView{}, fmt.Errorf("decoding the Redis value: %w", err)
	}
	v.Size = len(b)
	v.Rows = binaryRows(b, rec)
	if at, err := res[1].AsInt64(); err == nil && at > 0 {
		v.Rows = append(v.Rows, rawRow{"(PEXPIRETIME)", strconv.FormatInt(at, 10), "Redis drops the key at " + stamp(time.UnixMilli(at)) + ": no sweeper needed"})
	}
	v.Note = "The value is the record's binary encoding (store.Record.AppendBinary): a fixed header that scripts read in place (the version at bytes 1-8 for the compare-and-swap), the owner, then the data as the codec wrote it."
	v.fill(rec)
	return v, nil
}

// binaryRows splits the binary encoding b of rec (format 2) into its fields.
func binaryRows(b []byte, rec store.Record) []rawRow {
	if len(b) < store.RecordHeaderLen || b[0] != store.RecordFormat {
		return recordRows(rec)
	}
	ms := func(at int) string { return hexBytes(b[at : at+8]) }
	ownerLen, n := binary.Uvarint(b[store.RecordHeaderLen:])
	ownerEnd := store.RecordHeaderLen + n + int(ownerLen)
	rows := []rawRow{
		{"byte 0", hexBytes(b[:1]), "format 2"},
		{"bytes 1-8", ms(store.RecordVersionOffset), "Version " + strconv.FormatUint(rec.Version, 10) + ": one more on every write; the compare-and-swap script reads it here"},
		{"bytes 9-16", ms(store.RecordExpiryOffset), "Expiry " + stamp(rec.Expiry) + " (Unix ms): the earlier of 30 min idle and 24 h from creation"},
		{"bytes 17-24", ms(17), "Created " + stamp(rec.Created)},
		{"bytes 25-32", ms(store.RecordActiveOffset), "Active " + stamp(rec.Active) + ": last use"},
		{"byte 33", hexBytes(b[33:34]), fmt.Sprintf("flags: RememberMe %t, Ended %q", rec.RememberMe, rec.Ended.String())},
		{span(store.RecordHeaderLen, ownerEnd-1), hexBytes(b[store.RecordHeaderLen:min(ownerEnd, store.RecordHeaderLen+12)]) + ellipsis(ownerEnd > store.RecordHeaderLen+12), fmt.Sprintf("Owner %q (its length as a uvarint, then its bytes)", rec.Owner)},
		{span(ownerEnd, len(b)-1), hexBytes(b[ownerEnd:min(len(b), ownerEnd+12)]) + ellipsis(len(b) > ownerEnd+12), fmt.Sprintf("Data, %d bytes: the JSON below", len(rec.Data))},
	}
	return rows
}

// pgRaw is the PostgreSQL store, with raw reads.
type pgRaw struct {
	*pgstore.Store
	pool *pgxpool.Pool
}

func (s pgRaw) readRaw(ctx context.Context, token string) (rawView, error) {
	k := key(token)
	const query = `SELECT data, expiry, created, active, version, owner, persist, ended FROM "` + pgTable + `" WHERE key = $1`
	var (
		data            []byte
		expiry, created time.Time
		active          *time.Time
		version         int64
		owner           *string
		persist         bool
		ended           int16
	)
	literal := `'\x` + hex.EncodeToString(k) + `'`
	v := rawView{
		Title: "a PostgreSQL row",
		Where: "table " + pgTable + ", key " + literal + " (the SHA-256 of the token)",
		Try:   `psql "$PG_URL" -x -c "SELECT key, convert_from(data, 'UTF8') AS data, expiry, created, active, version, owner, persist, ended FROM ` + pgTable + ` WHERE key = ` + literal + `"`,
	}
	err := s.pool.QueryRow(ctx, query, k).Scan(&data, &expiry, &created, &active, &version, &owner, &persist, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		v.Missing = true
		return v, nil
	}
	if err != nil {
		return rawView{}, err
	}
	activeStr, ownerStr := "NULL", "NULL"
	if active != nil {
		activeStr = stamp(*active)
	}
	if owner != nil {
		ownerStr = strconv.Quote(*owner)
	}
	v.Size = len(data)
	v.Rows = []rawRow{
		{"key", literal[:14] + "…'", "bytea: the SHA-256 of the token, never the token"},
		{"data", fmt.Sprintf("%d bytes", len(data)), "bytea: the session value as the codec wrote it (JSON, below)"},
		{"expiry", stamp(expiry), "timestamptz: the earlier of 30 min idle and 24 h from creation; the cleanup deletes the row after it"},
		{"created", stamp(created), "timestamptz: the 24-hour lifetime counts from here"},
		{"active", activeStr, "timestamptz: last use"},
		{"version", strconv.FormatInt(version, 10), "bigint: one more on every write; UPDATE ... WHERE version = the one read"},
		{"owner", ownerStr, "text: the user; a partial index serves \"log out everywhere\""},
		{"persist", strconv.FormatBool(persist), "boolean: RememberMe"},
		{"ended", strconv.Itoa(int(ended)), "smallint: 0 for a session; 1 or 2 on the marker a renewed or destroyed session leaves for a minute"},
	}
	v.fill(store.Record{Data: data, Version: uint64(version)})
	return v, nil
}

// readCookie opens the sealed cookie value token with the cookie store bound to the
// Manager's cookie name.
func readCookie(ctx context.Context, bound store.Store, token string) (rawView, error) {
	v := rawView{
		Title: "a sealed cookie",
		Where: "your browser only: the server keeps nothing",
		Size:  len(token),
		Note: "The cookie store keeps the whole session in the cookie, sealed with AES-256-GCM (the cookie name is bound into the seal). " +
			"The server keeps nothing, so it cannot list or end other sessions, and a copy of an old cookie stays valid until the expiry sealed in it. " +
			"This is the cookie your browser sent with this request, opened with the key.",
		VersionNote: "It cannot guard a write here: the cookie store has no stored copy to compare with, so of two tabs that change the session at once, the response that arrives last wins.",
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 17 {
		v.Missing = true
		return v, nil
	}
	rec, found, err := bound.Load(ctx, token)
	if err != nil {
		return rawView{}, err
	}
	if !found {
		v.Missing = true
		return v, nil
	}
	v.Rows = append([]rawRow{
		{"the value", fmt.Sprintf("%d characters of base64url", len(token)), fmt.Sprintf("%d bytes sealed; a browser keeps at most %d bytes of name, value and attributes", len(raw), cookiestore.CookieLimit)},
		{"byte 0", hexBytes(raw[:1]), "the envelope's format, 1"},
		{"bytes 1-4", hexBytes(raw[1:5]), "key id: which key of the ring sealed it"},
		{"bytes 5-16", hexBytes(raw[5:17]), "nonce, 12 random bytes"},
		{span(17, len(raw)-1), hexBytes(raw[17:29]) + "…", "AES-256-GCM ciphertext and 16-byte tag of the record; opened, it holds:"},
	}, recordRows(rec)...)
	v.fill(rec)
	return v, nil
}

// indentData returns data for reading: JSON indented, anything else quoted.
func indentData(data []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, data, "", "  ") == nil {
		return b.String()
	}
	if utf8.Valid(data) {
		return strconv.Quote(string(data))
	}
	return hex.EncodeToString(data)
}

// hexBytes renders b as spaced hex pairs.
func hexBytes(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(hex.EncodeToString([]byte{c}))
	}
	return s.String()
}

// escapeBytes renders b as \xHH escapes, for printf.
func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\x%02x`, c)
	}
	return s.String()
}

// span names the bytes from to through, inclusive.
func span(from, through int) string {
	if from == through {
		return "byte " + strconv.Itoa(from)
	}
	return fmt.Sprintf("bytes %d-%d", from, through)
}

func ellipsis(more bool) string {
	if more {
		return " …"
	}
	return ""
}

// stamp renders t in UTC to the millisecond, or "-" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}
