-- Reads the player's pending offers that have not expired, for delivery on connect.
-- KEYS[1]  {p:<id>}:inbox    ZSET offer id, score = expiresAt (ms)
-- KEYS[2]  {p:<id>}:offers   HASH offer id -> JSON of the offer plus createdAt
-- ARGV[1]  now (ms): only offers with expiresAt > now
-- ARGV[2]  at most this many offers
-- Returns a flat array of JSON strings (the caller orders them by createdAt); an id whose
-- JSON is missing is left out. Read-only.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return {} end
local bodies = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i = 1, #bodies do
  if bodies[i] then out[#out + 1] = bodies[i] end
end
return out
