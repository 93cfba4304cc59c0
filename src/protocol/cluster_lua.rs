//! The cluster's Lua scripts, as Redis runs them (`EVALSHA`; loaded with `SCRIPT LOAD` when a
//! session starts). Each runs atomically (Redis documentation, "Scripting with Lua"). Keys,
//! arguments and replies are described in [`super::cluster_script`], which builds the calls
//! and reads the replies.

/// Shared by the scripts: `KEYS[1]` = meta, `KEYS[2]` = history.
///
/// - `state(candidate)`: reads epoch, top, seq, floor; when the room has no epoch (new, or its
///   state lost), stores `candidate` with top = seq = floor = 0 and deletes a stale history,
///   so ids of two epochs never mix. Atomic with the rest of the script: two nodes racing
///   to create an epoch cannot both succeed.
/// - `raise(floor, n)`: floor = max(floor, n), stored.
/// - `trim_age(floor, cutoff)`: deletes entries older than `cutoff` (unix ms) from the front
///   of the stream; each deleted `N-k` raises the floor to `N`. Amortised O(1) per entry.
/// - `expire(ttl)`: both keys expire after `ttl` seconds without a script touching them.
macro_rules! prelude {
    () => {
        r#"
local meta, hist = KEYS[1], KEYS[2]
local function state(candidate)
  local m = redis.call('HMGET', meta, 'epoch', 'top', 'seq', 'floor')
  if not m[1] then
    redis.call('DEL', hist)
    redis.call('HSET', meta, 'epoch', candidate, 'top', 0, 'seq', 0, 'floor', 0)
    return candidate, 0, 0, 0
  end
  return m[1], tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
end
local function raise(floor, n)
  if n > floor then
    redis.call('HSET', meta, 'floor', string.format('%d', n))
    return n
  end
  return floor
end
local function trim_age(floor, cutoff)
  while true do
    local batch = redis.call('XRANGE', hist, '-', '+', 'COUNT', 64)
    if #batch == 0 then return floor end
    for _, e in ipairs(batch) do
      if tonumber(e[2][2]) >= cutoff then return floor end
      redis.call('XDEL', hist, e[1])
      floor = raise(floor, tonumber(string.match(e[1], '^(%d+)')))
    end
  end
end
local function expire(ttl)
  redis.call('EXPIRE', meta, ttl)
  redis.call('EXPIRE', hist, ttl)
end
"#
    };
}

/// Publishes one danmaku. ARGV: 1 epoch candidate, 2 the JSON after the id (`,"msg":...}`),
/// 3 now (unix ms), 4 history size, 5 history age (ms), 6 key TTL (s), 7 channel.
/// Returns `{epoch, id}`.
///
/// 1. `state`: the epoch, made from `ARGV[1]` if missing.
/// 2. `HINCRBY top 1` is the new id; `seq` back to 0.
/// 3. The JSON is `{"type":"danmaku","id":` .. id .. `ARGV[2]`: the id inside is the stored one.
/// 4. The floor rises to `id - size` (those danmaku no longer fit the history).
/// 5. With a history: trim by age, `XADD id-0`, then `XTRIM MINID (id-size)-1`, which keeps
///    the last `size` danmaku and the events after the newest dropped one. Size 0: no stream.
/// 6. Expiries refreshed; `PUBLISH channel EPOCH|id-0|JSON`.
pub const PUBLISH: &str = concat!(
    prelude!(),
    r#"
local epoch, top, seq, floor = state(ARGV[1])
local size = tonumber(ARGV[4])
top = redis.call('HINCRBY', meta, 'top', 1)
redis.call('HSET', meta, 'seq', 0)
local id = string.format('%d', top)
local json = '{"type":"danmaku","id":' .. id .. ARGV[2]
floor = raise(floor, top - size)
if size > 0 then
  trim_age(floor, tonumber(ARGV[3]) - tonumber(ARGV[5]))
  redis.call('XADD', hist, id .. '-0', 't', ARGV[3], 'j', json)
  if top > size then
    redis.call('XTRIM', hist, 'MINID', string.format('%d-1', top - size))
  end
else
  redis.call('DEL', hist)
end
expire(tonumber(ARGV[6]))
redis.call('PUBLISH', ARGV[7], epoch .. '|' .. id .. '-0|' .. json)
return {epoch, top}
"#
);

/// Appends a moderation event (the wall frame, e.g. `{"type":"delete","id":7}`). ARGV: 1 epoch
/// candidate, 2 JSON, 3 now (ms), 4 history size, 5 history age (ms), 6 key TTL (s), 7 channel,
/// 8 action `delete`, `clear` or `none`, 9 the deleted id (for `delete`). Returns
/// `{epoch, top, seq}`: the event's position is `top-seq`.
///
/// 1. `state`; `HINCRBY seq 1`: the event sits after danmaku `top`, the latest.
/// 2. With a history: trim by age; `delete` removes entry `ID-0` (never replayed again),
///    `clear` trims everything before the event (`XTRIM MINID top-seq`); then `XADD top-seq`,
///    so a resuming wall gets the event itself. Neither raises the floor: removed by
///    moderation is not lost.
/// 3. Expiries refreshed; `PUBLISH channel EPOCH|top-seq|JSON`.
pub const EVENT: &str = concat!(
    prelude!(),
    r#"
local epoch, top, seq, floor = state(ARGV[1])
seq = redis.call('HINCRBY', meta, 'seq', 1)
local pos = string.format('%d-%d', top, seq)
if tonumber(ARGV[4]) > 0 then
  trim_age(floor, tonumber(ARGV[3]) - tonumber(ARGV[5]))
  if ARGV[8] == 'delete' then
    redis.call('XDEL', hist, ARGV[9] .. '-0')
  elseif ARGV[8] == 'clear' then
    redis.call('XTRIM', hist, 'MINID', pos)
  end
  redis.call('XADD', hist, pos, 't', ARGV[3], 'j', ARGV[2])
end
expire(tonumber(ARGV[6]))
redis.call('PUBLISH', ARGV[7], epoch .. '|' .. pos .. '|' .. ARGV[2])
return {epoch, top, seq}
"#
);

/// `hello` and history reads. ARGV: 1 epoch candidate, 2 the first stream id wanted (`N-k`),
/// or empty for the state alone, 3 now (ms), 4 history age (ms), 5 key TTL (s).
/// Returns `{epoch, top, seq, floor, {id1, json1, id2, json2, ...}}`.
///
/// 1. `state`: the epoch is made here too, so `hello` of a new room fixes it for every node.
/// 2. Trim by age (raising the floor) and refresh expiries: a room read stays alive.
/// 3. `XRANGE hist ARGV[2] +`: every entry from that position on, in order.
pub const READ: &str = concat!(
    prelude!(),
    r#"
local epoch, top, seq, floor = state(ARGV[1])
floor = trim_age(floor, tonumber(ARGV[3]) - tonumber(ARGV[4]))
expire(tonumber(ARGV[5]))
local out = {}
if ARGV[2] ~= '' then
  for _, e in ipairs(redis.call('XRANGE', hist, ARGV[2], '+')) do
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][4]
  end
end
return {epoch, top, seq, floor, out}
"#
);
