-- A newer write (or an invalidation) that no fenced write begun before may overwrite.
--
-- KEYS[1]  K, the value's key
-- KEYS[2]  F, the fence key
-- ARGV[1]  1: store ARGV[2] under K, 0: delete K
-- ARGV[2]  the value's bytes (ignored for a delete)
-- ARGV[3]  the value's TTL in ms (0: none)
-- ARGV[4]  the wake-up channel
-- ARGV[5]  the lock name, as waiters know it (without the backend's prefix)
--
-- Reply: 1 if K held a value, 0 if not.
--
-- F moves to max(F + 1, server TIME in µs), keeping its TTL: every fence handed out so far is
-- then stale. Without F there is no fence to outdate (fills need F to store).
local stored = redis.call('GET', KEYS[2])
if stored then
  local current = tonumber(stored)
  if current == nil then
    return redis.error_reply('ERR key ' .. KEYS[2] .. ' holds a value that is not a lock fence')
  end
  local time = redis.call('TIME')
  local fence = tonumber(time[1]) * 1000000 + tonumber(time[2])
  if current + 1 > fence then
    fence = current + 1
  end
  redis.call('SET', KEYS[2], fence, 'KEEPTTL')
end
local existed = redis.call('EXISTS', KEYS[1])
if ARGV[1] == '1' then
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
  else
    redis.call('SET', KEYS[1], ARGV[2])
  end
elseif existed == 1 then
  redis.call('DEL', KEYS[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return existed
