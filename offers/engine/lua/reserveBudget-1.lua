--[[
  Claims units of one rule's budget window for a list of offers, in the order given,
  idempotently per offer id: all or some, never more than the window's count. The claim set
  lives in the rule's own slot (tag {b:<ruleId>}); its size is the budget used in the
  window. One call per rule and window per chunk (offers/engine/decide-batch.ts); the
  per-event slow path calls it with one offer.

  KEYS[1] claim set  SET  offer ids holding a claim in this window

  ARGV[1] budget count for the window
  ARGV[2] keep the set at least until (ms, event time): the window's end plus a margin
  ARGV[3] keep the set at least this long (ms) after a claim, by the server clock
  ARGV[4..] offer ids, best first (chunk order)

  Returns {used, status...}: used = claims in the window afterwards; one status per offer
  id: 1 = claimed now, 2 = this offer already held a claim, 0 = budget exhausted (nothing
  claimed for it).

  Clocks: the window is chosen by the decision's event time (so a replay reaches the same
  verdict), but the expiry follows the Redis server clock (TIME): a decision made long after
  its event (a backlog, a replay) must still see its window's claims, so the set expires at
  the later of ARGV[2] and server now + ARGV[3], never in the past.
]]
local count = tonumber(ARGV[1])
local used = redis.call('SCARD', KEYS[1])
local out = { 0 }
local claimed = false
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('SISMEMBER', KEYS[1], id) == 1 then
    out[#out + 1] = 2
  elseif used >= count then
    out[#out + 1] = 0
  else
    redis.call('SADD', KEYS[1], id)
    used = used + 1
    claimed = true
    out[#out + 1] = 1
  end
end
out[1] = used
if claimed then
  local t = redis.call('TIME')
  local serverNow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local keepUntil = math.max(tonumber(ARGV[2]), serverNow + tonumber(ARGV[3]))
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', keepUntil))
end
return out
