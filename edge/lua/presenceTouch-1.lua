-- Marks this edge instance as holding a socket of the player, until `expiresAt`.
-- KEYS[1]  {p:<id>}:presence   HASH instanceId -> expiry (ms)
-- ARGV[1]  instance id
-- ARGV[2]  now (ms)
-- ARGV[3]  expiresAt (ms) of this instance's entry
-- Drops entries already expired, sets the key to expire with its latest entry. Entries are in
-- the edges' clock (they compare them with their own now); the key's expiry is relative
-- (PEXPIRE latest - now), so it follows the Redis server clock and never lies in the past,
-- whatever the skew between an edge's clock and Redis'.
-- Returns the number of live instances (this one included).
local entries = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[2])
local latest = tonumber(ARGV[3])
local live = 1
for i = 1, #entries, 2 do
  local exp = tonumber(entries[i + 1]) or 0
  if entries[i] ~= ARGV[1] then
    if exp <= now then
      redis.call('HDEL', KEYS[1], entries[i])
    else
      live = live + 1
      if exp > latest then latest = exp end
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.max(1000, latest - now))
return live
