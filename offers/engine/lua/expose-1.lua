--[[
  Opens or extends the player's attribution windows for the live rules one decided event
  triggered, so the player's spend in the window counts towards the rule and the group the
  player is in (docs/offers.md, "Lift"). Every key carries the player's hash tag. Called once
  per decided event (after decidePlayers-n.lua recorded it), so a redelivered event opens nothing.

  KEYS[1] attribution  HASH  rule id -> "<group>|<until ms>"; "<rule id>|<currency>" -> what
                             the player spent in that rule's current window (spend-2.lua)

  ARGV[1]  now (ms): the triggering event's recvAt
  ARGV[2]  window (ms)
  ARGV[3.] pairs: rule id, group (variant name, or "(holdout)" for the global holdout)

  Returns the rule ids whose window opened now (none was open, or it was open for another
  group): each is one more exposed player of that rule and group, whose spend starts from
  zero. A window already open for the same group is extended to now + window and not
  counted again; its spend goes on.
]]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local untilMs = now + window
local opened = {}
local fields = nil
for i = 3, #ARGV, 2 do
  local rule, group = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], rule)
  local open = false
  if cur then
    local g, u = string.match(cur, '^(.*)|(%d+)$')
    open = g == group and tonumber(u) >= now
  end
  if not open then
    table.insert(opened, rule)
    fields = fields or redis.call('HKEYS', KEYS[1])
    local prefix = rule .. '|'
    for _, f in ipairs(fields) do
      if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[1], f) end
    end
  end
  redis.call('HSET', KEYS[1], rule, group .. '|' .. string.format('%d', untilMs))
end
-- Relative expiry: it follows the Redis server clock, so a window opened for an old event
-- (a backlog) still lives `window` from now, never in the past.
redis.call('PEXPIRE', KEYS[1], window)
return opened
