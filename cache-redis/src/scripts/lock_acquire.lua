-- Lock acquisition. Mirrors cache_core's memory backend (src/memory/locks.rs): a holder, its
-- lease, and a fence that only grows.
--
-- KEYS[1]  L, the lock key: a string holding the owner's token, with the lease as its PTTL
-- KEYS[2]  F, the fence key: the name's current fence (integer), kept twice the lease
-- KEYS[3]  (a claim only) K, the name's value: if it holds one, it is returned instead
-- ARGV[1]  the token
-- ARGV[2]  the lease in ms (integer >= 1)
--
-- Reply: {1, fence} taken (or already ours: a retried request renews and keeps the fence),
--        {0, pttl}  held by another token for pttl more ms (-1: the key has no TTL),
--        {2, value} a claim found K filled: nothing taken.
--
-- The fence of a new acquisition is max(F + 1, server TIME in µs): past every fence handed
-- out while F lives, and still growing after F expired (time moves on). µs since the epoch
-- are exact in Lua doubles (< 2^53) and go to redis.call as numbers, never through
-- tostring() or '..', which would round them.
local token = ARGV[1]
local lease = tonumber(ARGV[2])

if KEYS[3] then
  -- pcall: another type under K (a list, say) is not a value to hand out; the claim goes
  -- ahead, and the fill's SET replaces it.
  local value = redis.pcall('GET', KEYS[3])
  if type(value) == 'string' then
    return {2, value}
  end
end

-- Read (and check) F before writing anything: a script's error does not undo its writes.
local stored = redis.call('GET', KEYS[2])
local current = nil
if stored then
  current = tonumber(stored)
  if current == nil then
    return redis.error_reply('ERR key ' .. KEYS[2] .. ' holds a value that is not a lock fence')
  end
end

-- The common case in one command: a free name is taken.
if not redis.call('SET', KEYS[1], token, 'NX', 'PX', lease) then
  if redis.call('GET', KEYS[1]) ~= token then
    return {0, redis.call('PTTL', KEYS[1])}
  end
  -- Ours already: a retried request. Renew, and keep the fence if there still is one.
  redis.call('PEXPIRE', KEYS[1], lease)
  if current then
    local kept = redis.call('PTTL', KEYS[2])
    if kept >= 0 and kept < 2 * lease then
      redis.call('PEXPIRE', KEYS[2], 2 * lease)
    end
    return {1, current}
  end
end

local time = redis.call('TIME')
local fence = tonumber(time[1]) * 1000000 + tonumber(time[2])
if current and current + 1 > fence then
  fence = current + 1
end
redis.call('SET', KEYS[2], fence, 'PX', 2 * lease)
return {1, fence}
