--[[
  Records the decisions of P players' triggering events, each player's in their order, and
  makes their live offers, and opens the attribution windows of the live rules each event
  triggered: for each player, all of them or none, each at most once; for a player it made
  an offer for, it returns where the player is connected, read after the inbox write, so
  routing needs no read of its own. The number of keys is passed first (8 per player). One
  call per group of players per chunk step (offers/engine/decide-batch.ts: a group shares
  one Redis Cluster slot, or any players on a single Redis); the per-event slow path calls
  it with one player and one decision. Time is each event's recvAt (or a follow-up's due time).

  Per player p, eight keys with the player's hash tag, at KEYS[8 * (p - 1) + 1 .. + 8]:
  KEYS[1] limits     HASH  cd:<ruleId> = cooldown until (ms), n:<ruleId> = lifetime offers,
                           a:<ruleId> = the bandit arm pinned to the player,
                           d:<partition> = offset of the latest event of that partition
                           decided (the decided marker)
  KEYS[2] state      HASH  offers_today, offers_day, last_purchase_at, last_decline_at
  KEYS[3] inbox      ZSET  pending offer ids, score = expiresAt
  KEYS[4] offers     HASH  offer id -> JSON of Offer plus createdAt
  KEYS[5] ledger     STRING  MessagePack {offer id: lifecycle record} (offers/engine/offer.ts)
  KEYS[6] decisions  STRING  the latest compact explanations (offers/engine/explain-codec.ts),
                             newest first, each as a 4-byte big-endian length and its bytes
  KEYS[7] attribution HASH   rule id -> "<group>|<until ms>"; "<rule id>|<currency>" -> what
                             the player spent in that rule's current window (spend-2.lua)
  KEYS[8] presence   HASH  edge instance id -> presence expiry (ms), written by the edges
                           (protocol/offer-channel.ts); only read

  ARGV[1] max explanations kept
  ARGV[2] max ledger records kept
  ARGV[3] ledger records created longer ago than this (ms before the latest decision) are dropped
  ARGV[4] retention (ms): every key written expires this long after the write
  ARGV[5] explanations expire this long after the latest (ms)
  ARGV[6] P, the number of players
  ARGV[7] the decisions' values, one MessagePack array V of strings (unpacked once: a value
          per ARGV cost the client a command argument each, 18 per decision; see
          docs/internals.md). Per player, in KEYS order: N, the number
          of their decisions, then 18 values per decision, in event order (with N at V[b],
          decision i starts at V[b + 18 * (i - 1) + 1]). Redis' MessagePack reader has no
          binary type, so the two binary values (5 and 14) are each the index in ARGV of an
          argument of their own, from ARGV[9] on:
     1  decided marker field "d:<partition>", or "" for a follow-up
     2  the event's position in that partition (with a marker field; eventPosition in
        protocol/record.ts: an exact decimal, stored as given)
     3  follow-up: the first offer's id (its ledger record carries `followUpAt` once the
        follow-up is decided), or ""
     4  now: the event's recvAt (ms)
     5  ARGV index of the compact explanation
     6  offer id, or "" when the decision makes no offer (then 7..17 are ignored)
     7  rule id
     8  cooldown until (ms), or ""
     9  lifetime cap of the rule, or ""
    10  policy maxOffersPerDay, or ""
    11  policy quietAfterPurchase (ms), or ""
    12  policy quietAfterDecline (ms), or ""
    13  offer JSON (Offer plus createdAt)
    14  ARGV index of the ledger record (MessagePack map), or "" without an offer
    15  expiresAt (ms)
    16  the player's last purchase (ms) in the state applied with this event, or "". The
        later of it and the state hash's last_purchase_at counts, the hash's only when not
        after the event: processors apply a whole chunk before deciding it, so the hash may
        already hold a purchase that comes later.
    17  the arm to pin to the player for this (bandit) rule, `a:<ruleId>`, or ""
    18  an array (the only value that is not a string): rule id, group, rule id, group, …
        of the live rules the event triggered (group: the variant name, or "(holdout)"),
        whose attribution windows it opens; empty without a revenue event in the policy
  ARGV[8] attribution window (ms): how long a window stays open after the latest event
          that triggered its rule (docs/offers.md, "Lift")

  The checks of decision i see the counters as decisions 1..i-1 left them (cooldowns,
  lifetime counts, today's offers, the decided markers), exactly as if each had been
  recorded by its own call. Every check runs before the first write: a duplicate or a
  refusal anywhere writes nothing at all, and the caller decides that player again event by
  event. A player's events are decided in partition order, so "decided up to offset X" is
  exact across a redelivered batch, and the marker is one field whatever the number of
  events. Players are independent: one player's duplicate or refusal leaves the others of
  the call recorded. Expiries are relative (PEXPIRE): they follow the Redis server clock, never the
  event's.

  Attribution windows (value 18), once the player's decisions are recorded, in event order:
  a window not open, or open for another group, opens now (the rule's earlier spend in it is
  dropped) and is reported; a window open for the same group is extended to the event's
  time plus the window and not reported. Recorded in the same call as the decision, so a
  redelivered event (found decided) opens nothing and a crash cannot leave a decision
  without its windows.

  Returns one reply per player, in order, each one of
    {"ok", opened, presence}     recorded (and the offers made, the windows opened);
                                 opened = {i, rule id, i, rule id, …}: the windows opened
                                 now, each by decision i (one more exposed player of that
                                 rule and group); presence = the player's presence hash
                                 {instance id, expiry, …} when an offer was made, else {}
    {"dup", i, 0|1}              decision i was decided before; nothing written. 1 when its
                                 offer exists (it was made then)
    {"refused", i, outcome, n}   a limit re-check of decision i failed; nothing written.
                                 outcome is one of cooldown, cap_reached, fatigue_daily_cap,
                                 fatigue_after_purchase, fatigue_after_decline; n is the
                                 "until" time or the count
]]
local W = 18
local keptDecisions = tonumber(ARGV[1])
local keptLedger = tonumber(ARGV[2])
local ledgerKeepMs = tonumber(ARGV[3])
local retention = tonumber(ARGV[4])
local decisionsKeepMs = tonumber(ARGV[5])
local attributionMs = tonumber(ARGV[8])

-- The decisions' values (ARGV[7], unpacked once).
local V = cmsgpack.unpack(ARGV[7])

-- Opens or extends the windows of decision o's live rules (value 18); appends each window
-- opened now to `opened` as i, rule id.
local function expose(K, o, i, opened)
  local groups = V[o + 18]
  if #groups == 0 then return end
  local now = tonumber(V[o + 4])
  local untilMs = now + attributionMs
  for j = 1, #groups, 2 do
    local rule, group = groups[j], groups[j + 1]
    local cur = redis.call('HGET', K[7], rule)
    local open = false
    if cur then
      local g, u = string.match(cur, '^(.*)|(%d+)$')
      open = g == group and tonumber(u) >= now
    end
    if not open then
      opened[#opened + 1] = i
      opened[#opened + 1] = rule
      local prefix = rule .. '|'
      for _, f in ipairs(redis.call('HKEYS', K[7])) do
        if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', K[7], f) end
      end
    end
    redis.call('HSET', K[7], rule, group .. '|' .. string.format('%d', untilMs))
  end
  -- Relative expiry: it follows the Redis server clock, so a window opened for an old event
  -- (a backlog) still lives `window` from now, never in the past.
  redis.call('PEXPIRE', K[7], attributionMs)
end

-- One player's decisions: K, their eight keys; b, the index in V of their N (the values of
-- decision i start at V[b + W * (i - 1) + 1]).
local function decidePlayer(K, b)
  local n = tonumber(V[b])

  -- The ledger (and the state's counters) only matter to a call that makes an offer or
  -- decides a follow-up: most decisions make none, and skip reading them.
  local needsLedger = false
  for i = 1, n do
    local o = b + W * (i - 1)
    if V[o + 6] ~= '' or V[o + 3] ~= '' then needsLedger = true break end
  end
  local ledger, ledgerDirty = {}, false
  if needsLedger then
    if redis.call('TYPE', K[5]).ok == 'hash' then
      -- Left by an older version (a hash of JSON records): read here; the SET below replaces it.
      local h = redis.call('HGETALL', K[5])
      for j = 1, #h, 2 do
        local ok, rec = pcall(cjson.decode, h[j + 1])
        if ok and type(rec) == 'table' then ledger[h[j]] = rec end
      end
      ledgerDirty = true
    else
      local raw = redis.call('GET', K[5])
      if raw then
        local ok, m = pcall(cmsgpack.unpack, raw)
        if ok and type(m) == 'table' then ledger = m end
      end
    end
  end

  -- The player's counters, read once each and carried forward across the decisions.
  local marks, cooldowns, lifetimes = {}, {}, {}
  local function marker(field)
    if marks[field] == nil then marks[field] = tonumber(redis.call('HGET', K[1], field) or '') or false end
    return marks[field]
  end
  local function cooldownOf(ruleId)
    if cooldowns[ruleId] == nil then cooldowns[ruleId] = tonumber(redis.call('HGET', K[1], 'cd:' .. ruleId) or '') or false end
    return cooldowns[ruleId]
  end
  local function lifetimeOf(ruleId)
    if lifetimes[ruleId] == nil then lifetimes[ruleId] = tonumber(redis.call('HGET', K[1], 'n:' .. ruleId) or '0') or 0 end
    return lifetimes[ruleId]
  end
  -- Today's offers and the last purchase and decline: only the offers' checks read them.
  local today, day, storedPurchase, lastDecline = 0, nil, nil, nil
  if needsLedger then
    local st = redis.call('HMGET', K[2], 'offers_today', 'offers_day', 'last_purchase_at', 'last_decline_at')
    today, day = tonumber(st[1] or '0') or 0, tonumber(st[2] or '')
    storedPurchase = tonumber(st[3] or '')
    lastDecline = tonumber(st[4] or '')
  end

  local offers, firsts = {}, {}
  local setCooldowns, setMarks = {}, {}
  local latest = nil

  -- Every check, in event order; nothing is written until all of them passed.
  for i = 1, n do
    local o = b + W * (i - 1)
    local field, offset, firstId = V[o + 1], V[o + 2], V[o + 3]
    local now, offerId = tonumber(V[o + 4]), V[o + 6]
    local made = offerId ~= '' and ledger[offerId] ~= nil
    if field ~= '' then
      local mark = marker(field)
      if mark and tonumber(offset) <= mark then return {'dup', i, made and 1 or 0} end
    end
    local first = nil
    if firstId ~= '' then
      first = ledger[firstId]
      if type(first) == 'table' and first.followUpAt then return {'dup', i, made and 1 or 0} end
      if type(first) ~= 'table' then first = nil end
    end
    if made then return {'dup', i, 1} end

    if offerId ~= '' then
      local ruleId = V[o + 7]
      local cdUntil = cooldownOf(ruleId)
      if V[o + 8] ~= '' and cdUntil and now < cdUntil then return {'refused', i, 'cooldown', tostring(cdUntil)} end
      local lifetime = lifetimeOf(ruleId)
      if V[o + 9] ~= '' and lifetime >= tonumber(V[o + 9]) then return {'refused', i, 'cap_reached', tostring(lifetime)} end
      local d = math.floor(now / 86400000)
      local count = (day == d) and today or 0
      if V[o + 10] ~= '' and count >= tonumber(V[o + 10]) then return {'refused', i, 'fatigue_daily_cap', tostring(count)} end
      local lastPurchase = tonumber(V[o + 16])
      if storedPurchase and storedPurchase <= now and (not lastPurchase or storedPurchase > lastPurchase) then
        lastPurchase = storedPurchase
      end
      local quietP = tonumber(V[o + 11])
      if quietP and lastPurchase and lastPurchase <= now and now < lastPurchase + quietP then
        return {'refused', i, 'fatigue_after_purchase', tostring(lastPurchase + quietP)}
      end
      local quietD = tonumber(V[o + 12])
      if quietD and lastDecline and lastDecline <= now and now < lastDecline + quietD then
        return {'refused', i, 'fatigue_after_decline', tostring(lastDecline + quietD)}
      end
      if V[o + 8] ~= '' then
        cooldowns[ruleId] = tonumber(V[o + 8])
        setCooldowns[ruleId] = V[o + 8]
      end
      lifetimes[ruleId] = lifetime + 1
      today, day = count + 1, d
      ledger[offerId] = cmsgpack.unpack(ARGV[tonumber(V[o + 14])])
      ledgerDirty = true
      offers[#offers + 1] = o
      if not latest or now > latest then latest = now end
    end
    if field ~= '' then
      marks[field] = tonumber(offset)
      setMarks[field] = offset
    end
    if first then
      first.followUpAt = now
      firsts[firstId] = true
      ledgerDirty = true
    end
  end

  -- The writes.
  for field, offset in pairs(setMarks) do redis.call('HSET', K[1], field, offset) end
  if #offers > 0 then
    for ruleId, untilMs in pairs(setCooldowns) do redis.call('HSET', K[1], 'cd:' .. ruleId, untilMs) end
    for _, o in ipairs(offers) do
      local ruleId = V[o + 7]
      redis.call('HSET', K[1], 'n:' .. ruleId, tostring(lifetimes[ruleId]))
      if V[o + 17] ~= '' then redis.call('HSET', K[1], 'a:' .. ruleId, V[o + 17]) end
      redis.call('ZADD', K[3], V[o + 15], V[o + 6])
      redis.call('HSET', K[4], V[o + 6], V[o + 13])
    end
    redis.call('HSET', K[2], 'offers_today', tostring(today), 'offers_day', tostring(day))
    -- Bounded ledger: the newest records up to the count, none created before the horizon.
    local horizon = latest - ledgerKeepMs
    local byAge = {}
    for id, rec in pairs(ledger) do
      local created = (type(rec) == 'table' and tonumber(rec.createdAt)) or 0
      if created < horizon then ledger[id] = nil else byAge[#byAge + 1] = { id, created } end
    end
    if #byAge > keptLedger then
      table.sort(byAge, function(x, y) return x[2] > y[2] end)
      for j = keptLedger + 1, #byAge do ledger[byAge[j][1]] = nil end
    end
    for k = 2, 4 do redis.call('PEXPIRE', K[k], retention) end
  end
  redis.call('PEXPIRE', K[1], retention)
  if ledgerDirty then redis.call('SET', K[5], cmsgpack.pack(ledger), 'PX', retention) end

  -- The new explanations first (the latest decision first), then the kept ones: records are
  -- opaque here.
  local parts, count = {}, 0
  for i = n, 1, -1 do
    if count >= keptDecisions then break end
    local e = ARGV[tonumber(V[b + W * (i - 1) + 5])]
    parts[#parts + 1] = struct.pack('>I4', #e) .. e
    count = count + 1
  end
  local list = table.concat(parts)
  -- A list left by an older version holds JSON explanations this version does not read: the
  -- SET below replaces it.
  local older = count < keptDecisions and redis.pcall('GET', K[6])
  if type(older) == 'string' then
    local pos = 1
    while count < keptDecisions and pos + 3 <= #older do
      local len = struct.unpack('>I4', older, pos)
      if pos + 3 + len > #older then break end
      pos = pos + 4 + len
      count = count + 1
    end
    list = list .. string.sub(older, 1, pos - 1)
  end
  redis.call('SET', K[6], list, 'PX', decisionsKeepMs)

  local opened = {}
  for i = 1, n do expose(K, b + W * (i - 1), i, opened) end
  -- Where to route the offers: read after the inbox write, in the same script, so an edge
  -- that writes the player's presence after this finds the offers by its inbox read, and
  -- one that wrote it before is here (docs/delivery.md).
  return {'ok', opened, #offers > 0 and redis.call('HGETALL', K[8]) or {}}
end

-- Every player of the call, in order; one player's refusal or duplicate stops only them.
local players = tonumber(ARGV[6])
local results = {}
local b = 1
for p = 1, players do
  local k = 8 * (p - 1)
  results[p] = decidePlayer({ KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7], KEYS[k + 8] }, b)
  b = b + 1 + W * tonumber(V[b])
end
return results
