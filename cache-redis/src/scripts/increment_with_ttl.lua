-- Increment with a TTL: INCRBY, then PEXPIRE when the key has no TTL (just created, or left
-- without one by a crash between two separate commands: this heals it).
--
-- KEYS[1]  the counter
-- ARGV[1]  the delta (integer)
-- ARGV[2]  the TTL in ms, applied only when the key has none
--
-- Reply: the new value.
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
