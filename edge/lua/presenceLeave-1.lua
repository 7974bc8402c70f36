-- Removes this edge instance from the player's presence (its last socket of the player closed).
-- KEYS[1]  {p:<id>}:presence   HASH instanceId -> expiry (ms)
-- ARGV[1]  instance id
-- ARGV[2]  now (ms)
-- Drops entries already expired too; deletes the key when none is left.
-- Returns the number of live instances left.
redis.call('HDEL', KEYS[1], ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[2])
local live = 0
for i = 1, #entries, 2 do
  if (tonumber(entries[i + 1]) or 0) <= now then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    live = live + 1
  end
end
if live == 0 then redis.call('DEL', KEYS[1]) end
return live
