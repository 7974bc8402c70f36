--[[
  Records one response to a live offer, once per (offer id, kind). Every key carries the
  player's hash tag. Responses from the game (shown, accepted, declined, purchased) and
  `expired` take the offer out of the pending inbox.

  KEYS[1] ledger  STRING  MessagePack {offer id: lifecycle record} (offers/engine/offer.ts)
  KEYS[2] inbox   ZSET  pending offer ids, score = expiresAt
  KEYS[3] offers  HASH  offer id -> JSON of Offer plus createdAt
  KEYS[4] state   HASH  last_purchase_at, last_decline_at

  ARGV[1] offer id
  ARGV[2] kind: shown | accepted | declined | purchased | expired | granted | follow_up
  ARGV[3] now (ms): the response event's recvAt, or the due time of a job
  ARGV[4] purchase amount in minor units, or "" for the offer price (purchased only)
  ARGV[5] retention (ms): the ledger and state expire this long after a response is
          recorded (relative PEXPIRE: the Redis server clock)

  Returns one of
    {"unknown"}                                   no such offer for this player (an `expired` whose
                                                  ledger record aged out still leaves the inbox)
    {"dup", ruleId, variant, revenue}             this kind was recorded before
    {"early", expiresAt}                          expired asked before expiresAt
    {"moot", ruleId, variant}                     expired after a response: nothing to expire
    {"ok", ruleId, variant, revenue, currency}    recorded; revenue is "" unless purchased
]]
local ledger, ledgerFromHash = {}, false
if redis.call('TYPE', KEYS[1]).ok == 'hash' then
  -- Left by an older version (a hash of JSON records): read here; the SET below replaces it.
  local h = redis.call('HGETALL', KEYS[1])
  for j = 1, #h, 2 do
    local ok, rec = pcall(cjson.decode, h[j + 1])
    if ok and type(rec) == 'table' then ledger[h[j]] = rec end
  end
  ledgerFromHash = true
end
do
  local whole = redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1])
  if whole then
    local ok, m = pcall(cmsgpack.unpack, whole)
    if ok and type(m) == 'table' then ledger = m end
  end
end
local r = ledger[ARGV[1]]
if type(r) ~= 'table' then
  if ARGV[2] == 'expired' then
    local due = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '')
    if due and tonumber(ARGV[3]) >= due then
      redis.call('ZREM', KEYS[2], ARGV[1])
      redis.call('HDEL', KEYS[3], ARGV[1])
    end
  end
  return {'unknown'}
end
local kind = ARGV[2]
local now = tonumber(ARGV[3])
local variant = r.variant
if type(variant) ~= 'string' then variant = '' end
if type(r.responses) ~= 'table' then r.responses = {} end

if r.responses[kind] then
  local revenue = ''
  if kind == 'purchased' and r.revenue then revenue = tostring(r.revenue) end
  return {'dup', r.ruleId, variant, revenue}
end

local reported = r.responses.shown or r.responses.accepted or r.responses.declined or r.responses.purchased
if kind == 'expired' then
  local score = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '')
  if score and now < score then return {'early', tostring(score)} end
  if reported then return {'moot', r.ruleId, variant} end
end

if kind == 'shown' or kind == 'accepted' or kind == 'declined' or kind == 'purchased' or kind == 'expired' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
end

local revenue = ''
if kind == 'purchased' then
  local amount = tonumber(ARGV[4])
  if not amount then amount = r.price.amount end
  r.revenue = amount
  revenue = tostring(amount)
  local last = tonumber(redis.call('HGET', KEYS[4], 'last_purchase_at') or '')
  if not last or last < now then redis.call('HSET', KEYS[4], 'last_purchase_at', ARGV[3]) end
elseif kind == 'declined' then
  local last = tonumber(redis.call('HGET', KEYS[4], 'last_decline_at') or '')
  if not last or last < now then redis.call('HSET', KEYS[4], 'last_decline_at', ARGV[3]) end
end

r.responses[kind] = now
redis.call('SET', KEYS[1], cmsgpack.pack(ledger), 'PX', ARGV[5])
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('PEXPIRE', KEYS[4], ARGV[5]) end
return {'ok', r.ruleId, variant, revenue, r.price.currency}
