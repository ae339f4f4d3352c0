-- GCRA rate-limit decision. Mirrors cache_core::rate_limit::gcra::decide line for line, so
-- the same arrival times give the same decisions as the in-memory backend.
--
-- KEYS[1]  the limiter key: a string holding the theoretical arrival time (TAT), integer µs
--          of server time; its TTL is the time until that TAT has passed
-- ARGV[1]  T, the emission interval in µs (integer >= 1): Gcra::emission_interval_us()
-- ARGV[2]  B, the burst (integer >= 1)
-- ARGV[3]  cost (integer >= 0; 0 = peek: reports, changes nothing)
--
-- Reply: {allowed, remaining, retry_after_us, reset_after_us, now_us}, all integers.
--   allowed = 1 (cost taken), 0 (denied), -1 (cost > burst: can never pass)
--
-- Time is the server's (TIME) in integer µs: exact in Lua doubles (< 2^53). Numbers go to
-- redis.call as numbers, never through tostring() or '..', which would round them.
local T = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  tat = tonumber(stored)
  if tat == nil then
    return redis.error_reply('ERR key ' .. KEYS[1] .. ' holds a value that is not rate-limit state')
  end
  if tat < now then tat = now end
end

if cost > burst then
  return {-1, 0, 0, tat - now, now}
end

local new_tat = tat + T * cost
-- now + T*B: the latest a TAT may reach while the call still passes
local horizon = now + T * burst

if horizon < new_tat then
  local room = horizon - tat
  if room < 0 then room = 0 end
  return {0, math.floor(room / T), new_tat - horizon, tat - now, now}
end

if cost > 0 then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
end
return {1, math.floor((horizon - new_tat) / T), 0, new_tat - now, now}
