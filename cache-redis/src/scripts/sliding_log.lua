-- Sliding-log rate-limit decision: never more than N in any window of length W. Mirrors
-- cache_core::rate_limit::sliding_log::decide line for line, so the same arrival times give
-- the same decisions as the in-memory backend.
--
-- KEYS[1]  the limiter key: a sorted set with one member per admitted unit of cost, scored
--          by its admission time in integer µs of server time; its TTL is the time until the
--          newest member leaves the window
-- ARGV[1]  limit N (integer >= 1): WindowParams::limit()
-- ARGV[2]  the window W in µs (integer >= 1)
-- ARGV[3]  cost (integer >= 0; 0 = peek: reports, adds nothing)
-- ARGV[4]  a member prefix unique to this call (e.g. a per-process random id and a counter),
--          so that calls in the same µs never collapse into one member
--
-- Reply: {allowed, remaining, retry_after_us, reset_after_us, now_us}, all integers.
--   allowed = 1 (cost taken), 0 (denied), -1 (cost > limit: can never pass)
--
-- Entries leave the window when score + W <= now (pruned even when the call is denied).
-- Denied calls are not logged.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])

-- Time until the newest entry leaves the window: 0 for an empty log.
local function reset_after()
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if newest[2] == nil then return 0 end
  local left = tonumber(newest[2]) + window - now
  if left < 0 then left = 0 end
  return left
end

if cost > limit then
  return {-1, 0, 0, reset_after(), now}
end

local total = count + cost
if total > limit then
  -- The call passes once the entries up to this one (0-based, oldest first) have left.
  local index = total - limit - 1
  local entry = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return {0, remaining, tonumber(entry[2]) + window - now, reset_after(), now}
end

if cost == 0 then
  return {1, limit - total, 0, reset_after(), now}
end

for i = 1, cost do
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
end
local reset = reset_after()
redis.call('PEXPIRE', KEYS[1], math.ceil(reset / 1000))
return {1, limit - total, 0, reset, now}
