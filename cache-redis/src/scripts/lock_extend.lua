-- Lock renewal: a new lease from now, for the owner only.
--
-- KEYS[1]  L, the lock key (the owner's token)
-- KEYS[2]  F, the fence key
-- ARGV[1]  the token
-- ARGV[2]  the lease in ms (integer >= 1)
--
-- Reply: 1 renewed, 0 not held by this token (nothing is touched then: no PEXPIRE runs).
-- F is kept at least twice the new lease, as at acquisition.
local lease = tonumber(ARGV[2])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], lease)
local kept = redis.call('PTTL', KEYS[2])
if kept >= 0 and kept < 2 * lease then
  redis.call('PEXPIRE', KEYS[2], 2 * lease)
end
return 1
