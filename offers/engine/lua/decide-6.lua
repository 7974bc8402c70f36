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
  KEYS[5] ledger     STRING  MessagePack {offer id: lifecycle record} (offers/engine/offer.ts)
  KEYS[6] decisions  STRING  the latest compact explanations (offers/engine/explain-codec.ts),
                             newest first, each as a 4-byte big-endian length and its bytes

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
  ARGV[19] ledger record (MessagePack map)
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

local ledger, ledgerFromHash = {}, false
if redis.call('TYPE', KEYS[5]).ok == 'hash' then
  -- Left by an older version (a hash of JSON records): read here; the SET below replaces it.
  local h = redis.call('HGETALL', KEYS[5])
  for j = 1, #h, 2 do
    local ok, rec = pcall(cjson.decode, h[j + 1])
    if ok and type(rec) == 'table' then ledger[h[j]] = rec end
  end
  ledgerFromHash = true
end
do
  local raw = redis.call('TYPE', KEYS[5]).ok == 'string' and redis.call('GET', KEYS[5])
  if raw then
    local ok, m = pcall(cmsgpack.unpack, raw)
    if ok and type(m) == 'table' then ledger = m end
  end
end
local ledgerDirty = ledgerFromHash

local function offerMade()
  return offerId ~= '' and ledger[offerId] ~= nil
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
  first = ledger[ARGV[3]]
  if type(first) == 'table' then
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
  ledger[offerId] = cmsgpack.unpack(ARGV[19])
  ledgerDirty = true
  -- Bounded ledger: the oldest records past the count, and any created before the horizon.
  local horizon = now - tonumber(ARGV[8])
  local byAge = {}
  for id, rec in pairs(ledger) do
    local created = (type(rec) == 'table' and tonumber(rec.createdAt)) or 0
    if created < horizon then ledger[id] = nil else byAge[#byAge + 1] = { id, created } end
  end
  local kept = tonumber(ARGV[7])
  if #byAge > kept then
    table.sort(byAge, function(x, y) return x[2] > y[2] end)
    for j = kept + 1, #byAge do ledger[byAge[j][1]] = nil end
  end
  for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], retention) end
end

if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], retention)
if first then
  first.followUpAt = now
  ledgerDirty = true
end
if ledgerDirty then redis.call('SET', KEYS[5], cmsgpack.pack(ledger), 'PX', retention) end
-- The new explanation first, then the kept ones before it: records are opaque here.
local list = struct.pack('>I4', #ARGV[5]) .. ARGV[5]
-- A list left by an older version holds JSON explanations this version does not read: the
-- SET below replaces it.
local older = redis.call('TYPE', KEYS[6]).ok == 'string' and redis.call('GET', KEYS[6])
if older then
  local pos, n = 1, 1
  while n < tonumber(ARGV[6]) and pos + 3 <= #older do
    local len = struct.unpack('>I4', older, pos)
    if pos + 3 + len > #older then break end
    pos = pos + 4 + len
    n = n + 1
  end
  list = list .. string.sub(older, 1, pos - 1)
end
redis.call('SET', KEYS[6], list, 'PX', tonumber(ARGV[10]))
return {'ok'}
