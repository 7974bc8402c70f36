--[[
Rolls back: records the version that was current before the current one as a new numbered
version (its files, its own `previous`) and makes it current, atomically. Repeated rollbacks
walk further back, like an undo stack.

KEYS[1]  <prefix>:{rules}:seq      STRING, last version number handed out
KEYS[2]  <prefix>:{rules}:current  STRING, the current version number
KEYS[3]  <prefix>:{rules}:history  ZSET, member = score = version number
ARGV[1]  version key prefix "<prefix>:{rules}:v:" (version keys share the {rules} hash tag)
ARGV[2]  the current version the caller validated against (compare-and-set)
ARGV[3]  meta, JSON object
ARGV[4]  publishedAt, ms
ARGV[5]  channel to PUBLISH the new version number on

Returns {1, newVersion, restoredVersion}; {0, current} when there is no earlier version (or
it was pruned); {-1, current} when the current version is no longer ARGV[2].
]]
local current = redis.call('GET', KEYS[2])
if current ~= ARGV[2] then
  return {-1, tonumber(current or '0')}
end
local target = redis.call('HGET', ARGV[1] .. current, 'previous')
if not target or target == '0' or redis.call('EXISTS', ARGV[1] .. target) == 0 then
  return {0, tonumber(current)}
end
local t = redis.call('HMGET', ARGV[1] .. target, 'files', 'hash', 'previous')
local version = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. version,
  'files', t[1], 'hash', t[2], 'meta', ARGV[3], 'publishedAt', ARGV[4],
  'previous', t[3] or '0', 'restores', target)
redis.call('SET', KEYS[2], version)
redis.call('ZADD', KEYS[3], version, version)
redis.call('PUBLISH', ARGV[5], version)
return {1, version, tonumber(target)}
