--[[
  Claims one unit of a rule's budget for one offer, idempotently. The claim set lives in the
  rule's own slot (tag {b:<ruleId>}); its size is the budget used in the window.

  KEYS[1] claim set  SET  offer ids holding a claim in this window

  ARGV[1] offer id
  ARGV[2] budget count for the window
  ARGV[3] expire the set at (ms): window end plus a margin

  Returns {status, used}: status 1 = claimed now, 2 = this offer already held a claim,
  0 = budget exhausted (nothing claimed); used = claims in the window afterwards.
]]
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return {2, redis.call('SCARD', KEYS[1])}
end
local used = redis.call('SCARD', KEYS[1])
if used >= tonumber(ARGV[2]) then return {0, used} end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {1, used + 1}
