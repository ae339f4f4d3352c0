-- Lock release by the owner, waking the name's waiters.
--
-- KEYS[1]  L, the lock key (the owner's token)
-- ARGV[1]  the token
-- ARGV[2]  the wake-up channel
-- ARGV[3]  the lock name, as waiters know it (without the backend's prefix)
--
-- Reply: 1 released, 0 not held by this token (then nobody is woken).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
