--[[
  Records the decision of one triggering event for one player, and makes its live offer,
  all or nothing, at most once. Every key carries the player's hash tag. Time is the
  event's recvAt (or a follow-up's due time).

  KEYS[1] limits     HASH  cd:<ruleId> = cooldown until (ms), n:<ruleId> = lifetime offers,
                           d:<partition> = offset of the latest event of that partition
                           decided (the decided marker)
  KEYS[2] state      HASH  offers_today, offers_day, last_purchase_at, last_decline_at
  KEYS[3] inbox      ZSET  pending offer ids, score = expiresAt
  KEYS[4] offers     HASH  offer id -> JSON of Offer plus createdAt
  KEYS[5] ledger     HASH  offer id -> JSON lifecycle record
  KEYS[6] ledgerIdx  ZSET  offer ids of ledger, score = createdAt
  KEYS[7] decisions  LIST  compact explanations (offers/engine/explain-codec.ts), newest first

  ARGV[1]  decided marker field "d:<partition>", or "" for a follow-up
  ARGV[2]  the event's offset in that partition (with a marker field)
  ARGV[3]  follow-up: the first offer's id (its ledger record carries `followUpAt` once the
           follow-up is decided), or ""
  ARGV[4]  now: the event's recvAt (ms)
  ARGV[5]  compact explanation
  ARGV[6]  max explanations kept
  ARGV[7]  max ledger records kept
  ARGV[8]  ledger records created longer ago than this (ms before now) are dropped
  ARGV[9]  retention (ms): every key written expires this long after the write
  ARGV[10] explanations expire this long after the latest (ms)
  ARGV[11] offer id, or "" when the decision makes no offer (then ARGV[12..] are ignored)
  ARGV[12] rule id
  ARGV[13] cooldown until (ms), or ""
  ARGV[14] lifetime cap of the rule, or ""
  ARGV[15] policy maxOffersPerDay, or ""
  ARGV[16] policy quietAfterPurchase (ms), or ""
  ARGV[17] policy quietAfterDecline (ms), or ""
  ARGV[18] offer JSON (Offer plus createdAt)
  ARGV[19] ledger record JSON
  ARGV[20] expiresAt (ms)
  ARGV[21] the player's last purchase (ms) in the state applied with this event, or "".
           The later of it and the state hash's last_purchase_at counts, the hash's only when
           not after the event: processors apply a whole chunk before deciding it, so the
           hash may already hold a purchase that comes later.

  A player's events are decided in partition order, so "decided up to offset X" is exact
  across a redelivered batch, and the marker is one field whatever the number of events.
  Expiries are relative (PEXPIRE): they follow the Redis server clock, never the event's.

  Returns one of
    {"ok"}                     recorded (and the offer made, when ARGV[11] is set)
    {"dup", 0|1}               the event was decided before; nothing written. 1 when the
                               offer ARGV[11] exists (it was made then)
    {"refused", outcome, n}    a limit re-check failed; nothing written. outcome is one of
                               cooldown, cap_reached, fatigue_daily_cap,
                               fatigue_after_purchase, fatigue_after_decline; n is the
                               "until" time or the count
]]
local now = tonumber(ARGV[4])
local offerId = ARGV[11]
local retention = tonumber(ARGV[9])

local function offerMade()
  return offerId ~= '' and redis.call('HEXISTS', KEYS[5], offerId) == 1
end

if ARGV[1] ~= '' then
  local mark = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '')
  if mark and tonumber(ARGV[2]) <= mark then
    if offerMade() then return {'dup', 1} end
    return {'dup', 0}
  end
end
local first = nil
if ARGV[3] ~= '' then
  local raw = redis.call('HGET', KEYS[5], ARGV[3])
  if raw then
    first = cjson.decode(raw)
    if first.followUpAt then
      if offerMade() then return {'dup', 1} end
      return {'dup', 0}
    end
  end
end
if offerMade() then return {'dup', 1} end

if offerId ~= '' then
  local ruleId = ARGV[12]
  local cdUntil = tonumber(redis.call('HGET', KEYS[1], 'cd:' .. ruleId) or '')
  if ARGV[13] ~= '' and cdUntil and now < cdUntil then return {'refused', 'cooldown', tostring(cdUntil)} end
  local lifetime = tonumber(redis.call('HGET', KEYS[1], 'n:' .. ruleId) or '0') or 0
  if ARGV[14] ~= '' and lifetime >= tonumber(ARGV[14]) then return {'refused', 'cap_reached', tostring(lifetime)} end

  local day = math.floor(now / 86400000)
  local st = redis.call('HMGET', KEYS[2], 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at')
  local today = 0
  if tonumber(st[2] or '') == day then today = tonumber(st[1] or '0') or 0 end
  if ARGV[15] ~= '' and today >= tonumber(ARGV[15]) then return {'refused', 'fatigue_daily_cap', tostring(today)} end
  local lastPurchase = tonumber(ARGV[21])
  local storedPurchase = tonumber(st[3] or '')
  if storedPurchase and storedPurchase <= now and (not lastPurchase or storedPurchase > lastPurchase) then
    lastPurchase = storedPurchase
  end
  if ARGV[16] ~= '' and lastPurchase and lastPurchase <= now and now < lastPurchase + tonumber(ARGV[16]) then
    return {'refused', 'fatigue_after_purchase', tostring(lastPurchase + tonumber(ARGV[16]))}
  end
  local lastDecline = tonumber(st[4] or '')
  if ARGV[17] ~= '' and lastDecline and lastDecline <= now and now < lastDecline + tonumber(ARGV[17]) then
    return {'refused', 'fatigue_after_decline', tostring(lastDecline + tonumber(ARGV[17]))}
  end

  if ARGV[13] ~= '' then redis.call('HSET', KEYS[1], 'cd:' .. ruleId, ARGV[13]) end
  redis.call('HINCRBY', KEYS[1], 'n:' .. ruleId, 1)
  redis.call('HSET', KEYS[2], 'offers_today', tostring(today + 1), 'offers_day', tostring(day))
  redis.call('ZADD', KEYS[3], ARGV[20], offerId)
  redis.call('HSET', KEYS[4], offerId, ARGV[18])
  redis.call('HSET', KEYS[5], offerId, ARGV[19])
  redis.call('ZADD', KEYS[6], now, offerId)
  -- Bounded ledger: the oldest records past the count, and any created before the horizon.
  local extra = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[7])
  local old = {}
  if extra > 0 then old = redis.call('ZRANGE', KEYS[6], 0, extra - 1) end
  local aged = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. string.format('%d', now - tonumber(ARGV[8])))
  for _, id in ipairs(aged) do old[#old + 1] = id end
  for _, id in ipairs(old) do
    redis.call('HDEL', KEYS[5], id)
    redis.call('ZREM', KEYS[6], id)
  end
  for i = 2, 6 do redis.call('PEXPIRE', KEYS[i], retention) end
end

if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], retention)
if first then
  first.followUpAt = now
  redis.call('HSET', KEYS[5], ARGV[3], cjson.encode(first))
end
redis.call('LPUSH', KEYS[7], ARGV[5])
redis.call('LTRIM', KEYS[7], 0, tonumber(ARGV[6]) - 1)
redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[10]))
return {'ok'}
