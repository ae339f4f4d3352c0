-- The fenced write of a cached value, releasing the writer's hold, atomically.
--
-- KEYS[1]  K, the value's key
-- KEYS[2]  L, the lock key (the owner's token)
-- KEYS[3]  F, the fence key
-- ARGV[1]  the token
-- ARGV[2]  the writer's fence (decimal integer)
-- ARGV[3]  the value's bytes
-- ARGV[4]  the value's TTL in ms (0: none)
-- ARGV[5]  the wake-up channel
-- ARGV[6]  the lock name, as waiters know it (without the backend's prefix)
--
-- Reply: 1 stored, 0 refused (the fence is no longer the name's current one, or F is gone).
-- The hold is released either way, and the waiters are woken either way: a refused writer
-- has nothing left to do under the lock.
--
-- Fences are compared as text: F was written from a Lua number below 2^53 (plain digits) and
-- ARGV[2] is a Rust u64 in decimal, so equal numbers are equal strings, and no conversion can
-- round a large fence into a match.
local stored = 0
if redis.call('GET', KEYS[3]) == ARGV[2] then
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
  else
    redis.call('SET', KEYS[1], ARGV[3])
  end
  stored = 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return stored
