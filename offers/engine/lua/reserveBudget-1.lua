--[[
  Claims one unit of a rule's budget for one offer, idempotently. The claim set lives in the
  rule's own slot (tag {b:<ruleId>}); its size is the budget used in the window.

  KEYS[1] claim set  SET  offer ids holding a claim in this window

  ARGV[1] offer id
  ARGV[2] budget count for the window
  ARGV[3] keep the set at least until (ms, event time): the window's end plus a margin
  ARGV[4] keep the set at least this long (ms) after this claim, by the server clock

  Returns {status, used}: status 1 = claimed now, 2 = this offer already held a claim,
  0 = budget exhausted (nothing claimed); used = claims in the window afterwards.

  Clocks: the window is chosen by the decision's event time (so a replay reaches the same
  verdict), but the expiry follows the Redis server clock (TIME): a decision made long after
  its event (a backlog, a replay) must still see its window's claims, so the set expires at
  the later of ARGV[3] and server now + ARGV[4], never in the past.
]]
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {2, redis.call('SCARD', KEYS[1])}
end
local used = redis.call('SCARD', KEYS[1])
if used >= tonumber(ARGV[2]) then return {0, used} end
redis.call('SADD', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local serverNow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keepUntil = math.max(tonumber(ARGV[3]), serverNow + tonumber(ARGV[4]))
redis.call('PEXPIREAT', KEYS[1], string.format('%d', keepUntil))
return {1, used + 1}
