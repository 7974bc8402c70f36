--[[
  Records the decision of one triggering event for one player, and makes its live offer,
  all or nothing. Every key carries the player's hash tag. Time is the event's recvAt.

  KEYS[1] decided    ZSET  event ids already decided, score = recvAt
  KEYS[2] limits     HASH  cd:<ruleId> = cooldown until (ms), n:<ruleId> = lifetime offers
  KEYS[3] state      HASH  offers_today, offers_day, last_purchase_at, last_decline_at
  KEYS[4] inbox      ZSET  pending offer ids, score = expiresAt
  KEYS[5] offers     HASH  offer id -> JSON of Offer plus createdAt
  KEYS[6] ledger     HASH  offer id -> JSON lifecycle record
  KEYS[7] ledgerIdx  ZSET  offer ids of ledger, score = createdAt
  KEYS[8] decisions  LIST  explanations, newest first

  ARGV[1]  event id
  ARGV[2]  now: the event's recvAt (ms)
  ARGV[3]  explanation JSON
  ARGV[4]  max explanations kept
  ARGV[5]  max decided markers kept
  ARGV[6]  max ledger records kept
  ARGV[7]  offer id, or "" when the decision makes no offer (then ARGV[8..] are ignored)
  ARGV[8]  rule id
  ARGV[9]  cooldown until (ms), or ""
  ARGV[10] lifetime cap of the rule, or ""
  ARGV[11] policy maxOffersPerDay, or ""
  ARGV[12] policy quietAfterPurchase (ms), or ""
  ARGV[13] policy quietAfterDecline (ms), or ""
  ARGV[14] offer JSON (Offer plus createdAt)
  ARGV[15] ledger record JSON
  ARGV[16] expiresAt (ms)
  ARGV[17] the player's last purchase (ms) in the state applied with this event, or "".
           The later of it and the state hash's last_purchase_at counts, the hash's only when
           not after the event: processors apply a whole chunk before deciding it, so the
           hash may already hold a purchase that comes later.

  Returns one of
    {"ok"}                     recorded (and the offer made, when ARGV[7] is set)
    {"dup", 0|1}               the event was decided before; nothing written. 1 when the
                               offer ARGV[7] exists (it was made then)
    {"refused", outcome, n}    a limit re-check failed; nothing written. outcome is one of
                               cooldown, cap_reached, fatigue_daily_cap,
                               fatigue_after_purchase, fatigue_after_decline; n is the
                               "until" time or the count
]]
local eventId = ARGV[1]
local now = tonumber(ARGV[2])
local offerId = ARGV[7]

if redis.call('ZSCORE', KEYS[1], eventId) then
  if offerId ~= '' and redis.call('HEXISTS', KEYS[6], offerId) == 1 then return {'dup', 1} end
  return {'dup', 0}
end
if offerId ~= '' and redis.call('HEXISTS', KEYS[6], offerId) == 1 then
  return {'dup', 1}
end

if offerId ~= '' then
  local ruleId = ARGV[8]
  local cdUntil = tonumber(redis.call('HGET', KEYS[2], 'cd:' .. ruleId) or '')
  if ARGV[9] ~= '' and cdUntil and now < cdUntil then return {'refused', 'cooldown', tostring(cdUntil)} end
  local lifetime = tonumber(redis.call('HGET', KEYS[2], 'n:' .. ruleId) or '0') or 0
  if ARGV[10] ~= '' and lifetime >= tonumber(ARGV[10]) then return {'refused', 'cap_reached', tostring(lifetime)} end

  local day = math.floor(now / 86400000)
  local st = redis.call('HMGET', KEYS[3], 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at')
  local today = 0
  if tonumber(st[2] or '') == day then today = tonumber(st[1] or '0') or 0 end
  if ARGV[11] ~= '' and today >= tonumber(ARGV[11]) then return {'refused', 'fatigue_daily_cap', tostring(today)} end
  local lastPurchase = tonumber(ARGV[17])
  local storedPurchase = tonumber(st[3] or '')
  if storedPurchase and storedPurchase <= now and (not lastPurchase or storedPurchase > lastPurchase) then
    lastPurchase = storedPurchase
  end
  if ARGV[12] ~= '' and lastPurchase and lastPurchase <= now and now < lastPurchase + tonumber(ARGV[12]) then
    return {'refused', 'fatigue_after_purchase', tostring(lastPurchase + tonumber(ARGV[12]))}
  end
  local lastDecline = tonumber(st[4] or '')
  if ARGV[13] ~= '' and lastDecline and lastDecline <= now and now < lastDecline + tonumber(ARGV[13]) then
    return {'refused', 'fatigue_after_decline', tostring(lastDecline + tonumber(ARGV[13]))}
  end

  if ARGV[9] ~= '' then redis.call('HSET', KEYS[2], 'cd:' .. ruleId, ARGV[9]) end
  redis.call('HINCRBY', KEYS[2], 'n:' .. ruleId, 1)
  redis.call('HSET', KEYS[3], 'offers_today', tostring(today + 1), 'offers_day', tostring(day))
  redis.call('ZADD', KEYS[4], ARGV[16], offerId)
  redis.call('HSET', KEYS[5], offerId, ARGV[14])
  redis.call('HSET', KEYS[6], offerId, ARGV[15])
  redis.call('ZADD', KEYS[7], now, offerId)
  local extra = redis.call('ZCARD', KEYS[7]) - tonumber(ARGV[6])
  if extra > 0 then
    local old = redis.call('ZRANGE', KEYS[7], 0, extra - 1)
    for _, id in ipairs(old) do
      redis.call('HDEL', KEYS[6], id)
      redis.call('ZREM', KEYS[7], id)
    end
  end
end

redis.call('ZADD', KEYS[1], now, eventId)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[5]) + 1))
redis.call('LPUSH', KEYS[8], ARGV[3])
redis.call('LTRIM', KEYS[8], 0, tonumber(ARGV[4]) - 1)
return {'ok'}
