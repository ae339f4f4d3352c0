-- Compare-and-delete, as a lock release needs: the key goes only if it still holds the value
-- this caller wrote, never a value another caller wrote after this one's expired.
--
-- KEYS[1]  the key
-- ARGV[1]  the expected value
--
-- Reply: 1 if the key held exactly that value and was removed, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
