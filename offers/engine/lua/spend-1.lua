--[[
  Attributes one spend of a player (a purchase outside the offers, or of an offer) to the
  rules whose attribution window is open at its time, once per spend event (docs/offers.md,
  "Lift"). Every key carries the player's hash tag. Windows that closed are dropped with
  what was spent in them.

  KEYS[1] attribution  HASH  rule id -> "<group>|<until ms>"; "<rule id>|<currency>" -> what
                             the player spent in that rule's current window;
                             "|@<partition>" -> offset of the latest revenue event of that
                             partition attributed (the hash expires with its last window,
                             decidePlayers-n.lua; with no window open there is nothing to count)

  ARGV[1] marker field "|@<partition>", or "" (an offer purchase: its response is recorded
          once already, respond-4.lua)
  ARGV[2] now (ms): the spend event's recvAt
  ARGV[3] the event's position in its partition (with a marker; protocol/record.ts, eventPosition)
  ARGV[4] currency
  ARGV[5] amount (minor units, a non-negative integer)

  Returns {"dup"} when this event was attributed before (nothing written), else {"ok",
  rule id, group, square delta, ...}: the open windows the spend counts towards, each with
  how much the square of the window's spend grew ((s + a)^2 - s^2 = 2sa + a^2), so the
  stats can keep the sum of squares over windows that a variance needs.
]]
local now = tonumber(ARGV[2])
local currency = ARGV[4]
local amount = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'ok'} end
if ARGV[1] ~= '' then
  local offset = tonumber(ARGV[3])
  local mark = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '')
  if mark and offset <= mark then return {'dup'} end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
local out = {'ok'}
local all = redis.call('HGETALL', KEYS[1])
local value = {}
for i = 1, #all, 2 do value[all[i]] = all[i + 1] end
for i = 1, #all, 2 do
  local field = all[i]
  if not string.find(field, '|', 1, true) then
    local g, u = string.match(all[i + 1], '^(.*)|(%d+)$')
    if g and tonumber(u) >= now then
      local acc = field .. '|' .. currency
      local spent = tonumber(value[acc] or '0')
      redis.call('HSET', KEYS[1], acc, string.format('%.0f', spent + amount))
      table.insert(out, field)
      table.insert(out, g)
      table.insert(out, string.format('%.0f', 2 * spent * amount + amount * amount))
    else
      redis.call('HDEL', KEYS[1], field)
      local prefix = field .. '|'
      for j = 1, #all, 2 do
        if string.sub(all[j], 1, #prefix) == prefix then redis.call('HDEL', KEYS[1], all[j]) end
      end
    end
  end
end
return out
