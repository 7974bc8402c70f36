--[[
  applyEvents: apply a run of one player's events, in partition order, to the player's
  state, atomically; each event at most once.

  KEYS[1] state      HASH  built-ins and plain property values
  KEYS[2] markers    HASH  <partition> -> position of the last event applied from it (its
                           record's offset, plus index / 1024 for the index-th event of a
                           record that holds a frame: eventPosition in protocol/record.ts);
                           s:<stream> -> MessagePack {lastUsed, hi, from1, to1, ...} of a client
                           stream (below). Kept apart from `state` so that a stream with
                           many holes cannot turn the state hash into Redis' large encoding.
  KEYS[3] seen       ZSET  ids of recently applied events sent without a stream sequence
                           number, score = event time (ms); bounded
  KEYS[4] windows    STRING  MessagePack {windowed property field: [bucket, value, ...]},
                           buckets ascending (one string: bucket lists are longer than a
                           hash's compact encoding allows; a hash left by an older version is
                           read, and replaced by the next write's SET)

  ARGV[1] the bundle's properties, MessagePack, 4 entries per property (P of them):
            kind   "c" count | "s" sum | "n" min | "x" max | "l" last | "k" streak |
                   "C" windowed count | "S" windowed sum
            field  storage field (in `state`, or in `windows` for C and S)
            bucketMs, buckets   window geometry (0, 0 unless C or S)
  ARGV[2] the events, MessagePack:
            seenMax    ids `seen` keeps at least: trimmed back to seenMax once it holds
                       more than seenMax + floor(seenMax / 3)
            seenAgeMs  an id applied longer ago than this (event time) no longer counts
            retentionMs  every key written expires this long after the write (server clock)
            window     resend window W: a seq at or below (stream's highest seq) - W is old
            streamsKept, gapsKept  streams remembered per player, holes per stream
            E          number of events; then per event:
              partition (string), position, event id (string), recvAt (ms),
              flags ("p" for offer.purchased, "" otherwise), stream ("" when none),
              seq (0 when none), N (ops), then N pairs:
              property index (1-based), value
              (count: ignored; streak: 1 extends, 0 resets; sum, min, max: a number;
               last: a string, stored as is)

  Event time t = max(recvAt, last_seen): a player's clock never runs backwards.
  An event is a duplicate when its position is at or below its partition's watermark (Kafka
  redelivery), or it is a client resend: with a stream and seq, the seq was applied before
  on that stream; without, its id is in `seen` with a time within seenAgeMs of t. A
  duplicate changes nothing but the watermark. The state field `seen_n` counts the ids in
  `seen` (so trimming needs no ZCARD).
  Streams: per stream, the highest seq applied (hi) and the holes below it (seqs skipped so
  far, ascending ranges), because a resend on a new socket can land in Kafka before the rest of
  the old socket's events. A seq above hi is new (the skipped ones become a hole); one in a
  hole is new (the hole shrinks); any other, or one at or below hi - W, is a resend. Holes
  at or below hi - W are dropped, and past gapsKept ranges the oldest; past streamsKept
  streams the least recently used one is forgotten. Nothing here grows with the number of
  events a player sends.
  Expiry: every key this script writes gets PEXPIRE retentionMs (`seen`: seenAgeMs),
  relative, so it follows the Redis server clock and is never in the past.
  `offers_today` is read from the state fields `offers_today` and `offers_day` (UTC day
  number, floor(ms / 86400000)) that the offers engine writes: it counts only on that day.

  Returns MessagePack: a flat array of E * (6 + P) entries; per event, in order:
    status (0 applied, 1 duplicate offset, 2 duplicate id, 3 duplicate stream seq), first_seen, last_seen,
    events_total, offers_today, last_purchase_at, then the P property values (windowed ones
    totalled over their window at t); false where unset.
  Every write happens after every input was checked: an error reply means nothing was written.
]]
local call = redis.call
local floor, fmt, huge, insert = math.floor, string.format, math.huge, table.insert
local DAY_MS = 86400000

local function bad(what)
  return redis.error_reply('PP_BAD_ARGS ' .. what)
end

local function isnum(x)
  return type(x) == 'number' and x == x and x > -huge and x < huge
end

-- Whole numbers stay numbers (redis.call formats them exactly), others become exact
-- decimal strings.
local function val(x)
  if x == floor(x) and x > -1e15 and x < 1e15 then return x end
  return fmt('%.17g', x)
end

local okp, props = pcall(cmsgpack.unpack, ARGV[1])
local oke, ev = pcall(cmsgpack.unpack, ARGV[2])
if not okp or type(props) ~= 'table' or #props % 4 ~= 0 then return bad('properties') end
if not oke or type(ev) ~= 'table' then return bad('events') end
local P = #props / 4
local seenMax, seenAgeMs, retentionMs, W, streamsKept, gapsKept, E = ev[1], ev[2], ev[3], ev[4], ev[5], ev[6], ev[7]
if not isnum(seenMax) or not isnum(seenAgeMs) or not isnum(retentionMs) or retentionMs < 1 or not isnum(W) or W < 1
  or not isnum(streamsKept) or streamsKept < 1 or not isnum(gapsKept) or gapsKept < 1
  or not isnum(E) or E < 1 or E ~= floor(E) then return bad('header') end

-- Property i: props[4i-3] kind, props[4i-2] field, props[4i-1] bucketMs, props[4i] buckets.
local kind, field = {}, {}
local stateFields = { 'first_seen', 'last_seen', 'events_total', 'last_purchase_at', 'offers_today', 'offers_day', 'seen_n' }
local NB = #stateFields
local winFields = {}
for i = 1, P do
  local k, f = props[4 * i - 3], props[4 * i - 2]
  if type(f) ~= 'string' then return bad('field of property ' .. i) end
  kind[i], field[i] = k, f
  if k == 'C' or k == 'S' then
    local g, n = props[4 * i - 1], props[4 * i]
    if not isnum(g) or g < 1 or not isnum(n) or n < 1 then return bad('window of property ' .. i) end
    winFields[#winFields + 1] = f
  elseif k == 'c' or k == 's' or k == 'n' or k == 'x' or k == 'l' or k == 'k' then
    stateFields[#stateFields + 1] = f
  else
    return bad('kind of property ' .. i)
  end
end

-- Event headers: where each starts, and the ids for one ZMSCORE.
-- Only events without a seq are looked up in `seen`.
local starts, ids, idAt = {}, {}, {}
local a = 8
for e = 1, E do
  local n = ev[a + 7]
  local q = ev[a + 6]
  if type(ev[a]) ~= 'string' or not isnum(ev[a + 1]) or type(ev[a + 2]) ~= 'string' or not isnum(ev[a + 3])
    or type(ev[a + 5]) ~= 'string' or not isnum(q) or q < 0 or q ~= floor(q) or (q > 0) ~= (ev[a + 5] ~= '')
    or not isnum(n) or n < 0 or n ~= floor(n) then
    return bad('event ' .. e)
  end
  starts[e] = a
  if q == 0 then
    ids[#ids + 1] = ev[a + 2]
    idAt[e] = #ids
  end
  a = a + 8 + 2 * n
end

-- Reads.
local cur = call('HMGET', KEYS[1], unpack(stateFields))
local firstSeen, lastSeen = tonumber(cur[1]), tonumber(cur[2])
local total, lastPurchase = tonumber(cur[3]) or 0, tonumber(cur[4])
local offersToday, offersDay = tonumber(cur[5]) or 0, tonumber(cur[6])
local seenCount = tonumber(cur[7]) or 0
-- The streams of this call's events, read in one HMGET.
local streams, streamsDirty, newStream = {}, {}, false
do
  local names, fields = {}, {}
  for e = 1, E do
    local name = ev[starts[e] + 5]
    if name ~= '' and not names[name] then
      names[name] = true
      fields[#fields + 1] = 's:' .. name
    end
  end
  if #fields > 0 then
    local raw = call('HMGET', KEYS[2], unpack(fields))
    for j = 1, #fields do
      local st = nil
      if raw[j] then
        local ok, decoded = pcall(cmsgpack.unpack, raw[j])
        if ok and type(decoded) == 'table' and #decoded >= 2 then st = decoded end
      end
      if st then streams[string.sub(fields[j], 3)] = st end
    end
  end
end

local sval, nval, lists = {}, {}, {}
local pos = NB
for i = 1, P do
  local k = kind[i]
  if k ~= 'C' and k ~= 'S' then
    pos = pos + 1
    local s = cur[pos]
    if k == 'l' then
      sval[i] = s
    elseif k == 'n' or k == 'x' then
      nval[i] = tonumber(s)
    else
      nval[i] = tonumber(s) or 0
    end
  end
end
local allWin = {}
if #winFields > 0 then
  local raw = {}
  if call('TYPE', KEYS[4]).ok == 'hash' then
    local h = call('HGETALL', KEYS[4])
    for j = 1, #h, 2 do raw[h[j]] = h[j + 1] end
    for f, packed in pairs(raw) do
      local ok, decoded = pcall(cmsgpack.unpack, packed)
      if ok and type(decoded) == 'table' then allWin[f] = decoded end
    end
  else
    local whole = call('GET', KEYS[4])
    if whole then
      local ok, decoded = pcall(cmsgpack.unpack, whole)
      if ok and type(decoded) == 'table' then allWin = decoded end
    end
  end
  for i = 1, P do
    if kind[i] == 'C' or kind[i] == 'S' then
      local list = allWin[field[i]]
      if type(list) ~= 'table' or #list % 2 ~= 0 then list = {} end
      lists[i] = list
    end
  end
end
-- unpack() is bounded by Lua's C stack (8000 values): long runs go in slices.
local SLICE = 1000
local seenScores = {}
for from = 1, #ids, SLICE do
  local scores = call('ZMSCORE', KEYS[3], unpack(ids, from, math.min(#ids, from + SLICE - 1)))
  for j = 1, #scores do seenScores[from + j - 1] = scores[j] end
end

-- Claims seq q of stream s at event time t: true when it was not applied before.
local function claimSeq(s, q, t)
  local st = streams[s]
  if not st then
    st = { t, 0 }
    streams[s] = st
    newStream = true
  end
  st[1] = t
  streamsDirty[s] = true
  local hi = st[2]
  if q > hi then
    if q > hi + 1 then
      st[#st + 1] = hi + 1
      st[#st + 1] = q - 1
    end
    st[2] = q
    local oldest = q - W
    local drop = 0
    while 3 + drop < #st and st[4 + drop] <= oldest do drop = drop + 2 end
    if (#st - 2 - drop) / 2 > gapsKept then drop = #st - 2 - 2 * gapsKept end
    if drop > 0 then
      local kept = { st[1], st[2] }
      for j = 3 + drop, #st do kept[#kept + 1] = st[j] end
      streams[s] = kept
    end
    return true
  end
  if q <= hi - W then return false end
  for j = 3, #st - 1, 2 do
    local from, to = st[j], st[j + 1]
    if q < from then return false end
    if q <= to then
      if from == to then
        table.remove(st, j)
        table.remove(st, j)
      elseif q == from then
        st[j] = q + 1
      elseif q == to then
        st[j + 1] = q - 1
      else
        st[j + 1] = q - 1
        insert(st, j + 2, q + 1)
        insert(st, j + 3, to)
      end
      return true
    end
  end
  return false
end

local function windowAdd(i, t, delta)
  local list = lists[i]
  local b = floor(t / props[4 * i - 1])
  local expired = b - props[4 * i]
  local len = #list
  if len > 0 and list[1] <= expired then
    local drop = 2
    while drop + 2 <= len and list[drop + 1] <= expired do drop = drop + 2 end
    local kept = {}
    for j = drop + 1, len do kept[j - drop] = list[j] end
    list = kept
    lists[i] = kept
    len = len - drop
  end
  local j = len - 1
  while j >= 1 and list[j] > b do j = j - 2 end
  if j >= 1 and list[j] == b then
    list[j + 1] = list[j + 1] + delta
  elseif j == len - 1 then
    list[len + 1] = b
    list[len + 2] = delta
  else
    insert(list, j + 2, b)
    insert(list, j + 3, delta)
  end
end

local function windowTotal(i, t)
  local list = lists[i]
  local current = floor(t / props[4 * i - 1])
  local oldest = current - props[4 * i]
  local s = 0
  for j = 1, #list - 1, 2 do
    local b = list[j]
    if b > oldest and b <= current then s = s + list[j + 1] end
  end
  return s
end

-- Apply, in memory.
local wm, wmDirty = {}, {}
local newIds, adds, na = {}, {}, 0
local dirty, propDirty = false, {}
local out, o = {}, 0
for e = 1, E do
  local b = starts[e]
  local part, off, id = ev[b], ev[b + 1], ev[b + 2]
  local t = ev[b + 3]
  if lastSeen and lastSeen > t then t = lastSeen end
  local w = wm[part]
  if w == nil then
    w = tonumber(call('HGET', KEYS[2], part)) or -1
    wm[part] = w
  end
  local status = 0
  if off <= w then
    status = 1
  else
    wm[part] = off
    wmDirty[part] = true
    local q = ev[b + 6]
    local seenAt = nil
    if q > 0 then
      if not claimSeq(ev[b + 5], q, t) then status = 3 end
    else
      seenAt = tonumber(seenScores[idAt[e]])
      if newIds[id] or (seenAt and seenAt >= t - seenAgeMs) then status = 2 end
    end
    if status == 0 then
      if not firstSeen then firstSeen = t end
      lastSeen = t
      total = total + 1
      if ev[b + 4] == 'p' and (not lastPurchase or t > lastPurchase) then lastPurchase = t end
      if q == 0 then
        newIds[id] = true
        if not seenAt then seenCount = seenCount + 1 end
        adds[na + 1] = val(t)
        adds[na + 2] = id
        na = na + 2
      end
      dirty = true
      for q = b + 8, b + 7 + 2 * ev[b + 7], 2 do
        local i, v = ev[q], ev[q + 1]
        local k = kind[i]
        if not k then return bad('op of event ' .. e) end
        if k == 'c' then
          nval[i] = nval[i] + 1
        elseif k == 'k' then
          if v == 1 then nval[i] = nval[i] + 1 else nval[i] = 0 end
        elseif k == 'l' then
          if type(v) ~= 'string' then return bad('value of op of event ' .. e) end
          sval[i] = v
        elseif k == 'C' then
          windowAdd(i, t, 1)
        else
          if not isnum(v) then return bad('value of op of event ' .. e) end
          if k == 's' then
            nval[i] = nval[i] + v
          elseif k == 'S' then
            windowAdd(i, t, v)
          elseif k == 'n' then
            if nval[i] == nil or v < nval[i] then nval[i] = v end
          elseif nval[i] == nil or v > nval[i] then
            nval[i] = v
          end
        end
        propDirty[i] = true
      end
    end
  end

  out[o + 1] = status
  out[o + 2] = firstSeen or false
  out[o + 3] = lastSeen or false
  out[o + 4] = total
  out[o + 5] = (offersDay == floor(t / DAY_MS)) and offersToday or 0
  out[o + 6] = lastPurchase or false
  o = o + 6
  for i = 1, P do
    local k = kind[i]
    o = o + 1
    if k == 'C' or k == 'S' then
      out[o] = windowTotal(i, t)
    elseif k == 'l' then
      out[o] = sval[i] or false
    else
      local x = nval[i]
      if x == nil then out[o] = false else out[o] = x end
    end
  end
end

-- Write.
if dirty then
  local trim = seenCount > seenMax + floor(seenMax / 3)
  if trim then seenCount = seenMax end
  local h = { 'first_seen', val(firstSeen), 'last_seen', val(lastSeen), 'events_total', total, 'seen_n', seenCount }
  if lastPurchase then
    h[#h + 1] = 'last_purchase_at'
    h[#h + 1] = val(lastPurchase)
  end
  local winDirty = false
  for i = 1, P do
    if propDirty[i] then
      local k = kind[i]
      if k == 'C' or k == 'S' then
        allWin[field[i]] = lists[i]
        winDirty = true
      else
        h[#h + 1] = field[i]
        if k == 'l' then h[#h + 1] = sval[i] else h[#h + 1] = val(nval[i]) end
      end
    end
  end
  call('HSET', KEYS[1], unpack(h))
  call('PEXPIRE', KEYS[1], retentionMs)
  if winDirty then
    call('SET', KEYS[4], cmsgpack.pack(allWin), 'PX', retentionMs)
  end
  for from = 1, na, 2 * SLICE do call('ZADD', KEYS[3], unpack(adds, from, math.min(na, from + 2 * SLICE - 1))) end
  if na > 0 then call('PEXPIRE', KEYS[3], seenAgeMs) end
  if trim then
    local card = call('ZCARD', KEYS[3])
    if card > seenMax then call('ZREMRANGEBYRANK', KEYS[3], 0, card - seenMax - 1) end
  end
end
local marks = {}
for part in pairs(wmDirty) do
  marks[#marks + 1] = part
  marks[#marks + 1] = val(wm[part])
end
if dirty then
  for name in pairs(streamsDirty) do
    marks[#marks + 1] = 's:' .. name
    marks[#marks + 1] = cmsgpack.pack(streams[name])
  end
end
if #marks > 0 then
  call('HSET', KEYS[2], unpack(marks))
  call('PEXPIRE', KEYS[2], retentionMs)
end
-- A new stream may push the player past streamsKept: forget the least recently used.
if dirty and newStream then
  local all = call('HGETALL', KEYS[2])
  local used = {}
  for j = 1, #all, 2 do
    if string.sub(all[j], 1, 2) == 's:' then
      local ok, st = pcall(cmsgpack.unpack, all[j + 1])
      used[#used + 1] = { all[j], (ok and type(st) == 'table' and tonumber(st[1])) or 0 }
    end
  end
  if #used > streamsKept then
    table.sort(used, function(x, y) return x[2] > y[2] end)
    local drop = {}
    for j = streamsKept + 1, #used do drop[#drop + 1] = used[j][1] end
    call('HDEL', KEYS[2], unpack(drop))
  end
end

return cmsgpack.pack(out)
