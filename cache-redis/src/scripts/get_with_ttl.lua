-- A value and its remaining TTL read at one instant, so the TTL belongs to the value returned
-- (two separate commands could see a value and then the TTL of its replacement).
--
-- KEYS[1]  the key
--
-- Reply: {value or false, remaining TTL in ms (-1 none, -2 missing)}.
local value = redis.call('GET', KEYS[1])
return {value, redis.call('PTTL', KEYS[1])}
