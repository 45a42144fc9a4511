package redisstore

import (
	"fmt"

	"github.com/redis/rueidis"
	"github.com/seed96b21533/typedsession/store"
)

// The Lua scripts read and change records in place, through the layout of
// store.Record's binary encoding (store.RecordFormat). Lua strings count from 1, so
// the byte at offset i of a record is string.byte(v, i+1). Records of format 1 (the
// first release) have no Active and keep their flags and Owner 8 bytes earlier.

// recordLua defines Lua functions on an encoded record v:
//
//	fmt(v)        its format, 1 or 2, or nil if v is not a record
//	live(v, now)  whether it is a record whose Expiry is after now (Unix ms)
//	owner(v)      its Owner, or nil if v is not a record
//	ended(v)      its Ended (0 for a session), or nil if v is not a record
var recordLua = fmt.Sprintf(`
local function fmt(v)
  local f = string.byte(v, 1)
  if f == %[1]d and string.len(v) > %[3]d then return 2 end
  if f == %[2]d and string.len(v) > %[4]d then return 1 end
  return nil
end
local function live(v, now)
  return fmt(v) ~= nil and struct.unpack('>I8', v, %[5]d) > tonumber(now)
end
local function owner(v)
  local f = fmt(v)
  if not f then return nil end
  local i, n, m = %[4]d + 1, 0, 1
  if f == 2 then i = %[3]d + 1 end
  while true do
    local b = string.byte(v, i)
    if not b then return nil end
    i = i + 1
    n = n + (b %% 128) * m
    if b < 128 then break end
    m = m * 128
  end
  return string.sub(v, i, i + n - 1)
end
local function ended(v)
  local f = fmt(v)
  if f == 1 then return 0 end
  if f == 2 then return math.floor(string.byte(v, %[3]d) / 2) %% 4 end
  return nil
end
`, store.RecordFormat, store.RecordFormatV1, store.RecordHeaderLen, store.RecordHeaderLenV1,
	store.RecordExpiryOffset+1)

// updateScript replaces KEYS[1] with ARGV[2], expiring at ARGV[3] (Unix ms), if it
// holds a live record (ARGV[4] is now) at version ARGV[1] (8 bytes, big-endian, as
// encoded). It returns 1 if it wrote, 0 if not.
var updateLua = recordLua + fmt.Sprintf(`
local v = redis.call('GET', KEYS[1])
if not v or not live(v, ARGV[4]) then return 0 end
if string.sub(v, %[1]d, %[2]d) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`, store.RecordVersionOffset+1, store.RecordVersionOffset+8)

var updateScript = rueidis.NewLuaScript(updateLua)

// touchScript sets the Active of the live record at KEYS[1] to ARGV[1] and its Expiry to
// ARGV[2] (8 bytes each, big-endian, as encoded), and the key's expiry to ARGV[3]
// (Unix ms); ARGV[4] is now. A record of format 1 is rewritten in format 2, which has
// room for Active. It returns the record's Owner if it is a session, "" for a marker,
// or nil if there was no live record.
var touchLua = recordLua + fmt.Sprintf(`
local v = redis.call('GET', KEYS[1])
if not v or not live(v, ARGV[4]) then return nil end
if fmt(v) == 1 then
  v = string.char(%[1]d) .. string.sub(v, 2, %[2]d) .. ARGV[1] .. string.sub(v, %[2]d + 1)
  v = string.sub(v, 1, %[3]d) .. ARGV[2] .. string.sub(v, %[3]d + 9)
  redis.call('SET', KEYS[1], v, 'PXAT', ARGV[3])
else
  redis.call('SETRANGE', KEYS[1], %[3]d, ARGV[2])
  redis.call('SETRANGE', KEYS[1], %[4]d, ARGV[1])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
if ended(v) ~= 0 then return '' end
return owner(v) or ''
`, store.RecordFormat, store.RecordHeaderLenV1-1, store.RecordExpiryOffset, store.RecordActiveOffset)

var touchScript = rueidis.NewLuaScript(touchLua)

// deleteOwnedScript deletes KEYS[1] if it holds a session (not a marker) whose Owner
// is ARGV[1], and returns 1 if it did.
var deleteOwnedLua = recordLua + `
local v = redis.call('GET', KEYS[1])
if v and ended(v) == 0 and owner(v) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`

var deleteOwnedScript = rueidis.NewLuaScript(deleteOwnedLua)

// upgradeLua defines upgrade(k), which turns the owner's index k from the plain set the
// first release kept (SADD, its expiry that of its latest session) into the sorted set
// of this one. The set's members carry no expiry of their own: each is scored by the
// set's (+inf if it has none), so that it stays listed as long as the first release
// would have listed it; Owned and DeleteOwned check every record anyway and drop the
// members whose session is gone.
const upgradeLua = `
local function upgrade(k)
  if redis.call('TYPE', k).ok ~= 'set' then return end
  local m = redis.call('SMEMBERS', k)
  local exp = redis.call('PEXPIRETIME', k)
  local score = '+inf'
  if exp > 0 then score = exp end
  redis.call('DEL', k)
  for i = 1, #m do redis.call('ZADD', k, score, m[i]) end
  if exp > 0 then redis.call('PEXPIREAT', k, exp) end
end
`

// indexLua keeps the owner's index KEYS[1], a sorted set of session keys scored by
// their Expiry: it drops the members that expired by ARGV[3] (now, Unix ms), adds
// ARGV[1] with score ARGV[2] or raises its score to it, and makes the set live at
// least until ARGV[2], so that it outlives every session it indexes.
const indexLua = upgradeLua + `
upgrade(KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
`

// membersScript drops the members of the owner's index KEYS[1] that expired by
// ARGV[1] (now, Unix ms) and returns the others.
var membersScript = rueidis.NewLuaScript(upgradeLua + `
upgrade(KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)
