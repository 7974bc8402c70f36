--[[
  Reads, for P players, what the batched decision path needs before it decides: each
  player's counters and the limits fields asked for. One call per group of players per
  chunk step (offers/engine/decide-batch.ts: a group shares one Redis Cluster slot, or any
  players on a single Redis), instead of two HMGETs per player: the cost of a command on
  the client, not on the server, is what a chunk's reads were spending. Read only.

  Per player p, two keys with the player's hash tag, at KEYS[2 * (p - 1) + 1 .. + 2]:
  KEYS[1] state   HASH  offers_today, offers_day, last_purchase_at, last_decline_at
  KEYS[2] limits  HASH  d:<partition>, cd:<ruleId>, n:<ruleId>, a:<ruleId> (decidePlayers-n.lua)

  ARGV[1] P, the number of players; then per player, in KEYS order: F, the number of
          limits fields, then the F field names

  Returns one array per player, in order: the four state fields, then the F limits fields,
  each a string or nil.
]]
local players = tonumber(ARGV[1])
local results = {}
local b = 2
for p = 1, players do
  local k = 2 * (p - 1)
  local f = tonumber(ARGV[b])
  local out = redis.call('HMGET', KEYS[k + 1], 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at')
  if f > 0 then
    local lim = redis.call('HMGET', KEYS[k + 2], unpack(ARGV, b + 1, b + f))
    for j = 1, f do out[4 + j] = lim[j] end
  end
  results[p] = out
  b = b + 1 + f
end
return results
