-- Fixed-window rate-limit decision. Mirrors cache_core::rate_limit::fixed_window::decide line
-- for line, so the same arrival times give the same decisions as the in-memory backend.
--
-- KEYS[1]  the limiter key: a hash {s = window start, integer µs of server time,
--          n = cost admitted in this window}; its TTL is the time until the window ends
-- ARGV[1]  limit N per window (integer >= 1): WindowParams::limit()
-- ARGV[2]  the window W in µs (integer >= 1)
-- ARGV[3]  cost (integer >= 0; 0 = peek: reports, changes nothing)
--
-- Reply: {allowed, remaining, retry_after_us, reset_after_us, now_us}, all integers.
--   allowed = 1 (cost taken), 0 (denied), -1 (cost > limit: can never pass)
--
-- A window starts at the first call after the previous one ended and lasts W. The decision
-- uses TIME, not the key's TTL, so it is exact to the µs; the TTL (rounded up to a whole ms)
-- only cleans up. Denied calls are not counted.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local fields = redis.call('HMGET', KEYS[1], 's', 'n')
local start = tonumber(fields[1])
local count = tonumber(fields[2])
if start == nil or count == nil or now >= start + window then
  start = now
  count = 0
end

if cost > limit then
  return {-1, 0, 0, 0, now}
end

local ends_in = start + window - now

if count + cost > limit then
  local remaining = limit - count
  if remaining < 0 then remaining = 0 end
  return {0, remaining, ends_in, ends_in, now}
end

count = count + cost
if cost > 0 then
  redis.call('HSET', KEYS[1], 's', start, 'n', count)
  redis.call('PEXPIRE', KEYS[1], math.ceil(ends_in / 1000))
end
local reset_after = 0
if count > 0 then reset_after = ends_in end
return {1, limit - count, 0, reset_after, now}
