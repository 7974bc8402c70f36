--[[
Publishes a designer bundle as a new numbered version and makes it current, atomically.

KEYS[1]  <prefix>:{rules}:seq      STRING, last version number handed out
KEYS[2]  <prefix>:{rules}:current  STRING, the current version number
KEYS[3]  <prefix>:{rules}:history  ZSET, member = score = version number
ARGV[1]  version key prefix "<prefix>:{rules}:v:" (version keys share the {rules} hash tag)
ARGV[2]  files, JSON object file name -> YAML text
ARGV[3]  bundle hash (sha256 hex)
ARGV[4]  meta, JSON object
ARGV[5]  publishedAt, ms
ARGV[6]  channel to PUBLISH the new version number on
ARGV[7]  "1": publish only when no version is current yet (first start); "0": always
ARGV[8]  how many versions to keep; older version hashes are deleted

Returns {1, version} when published, {0, currentVersion} when ARGV[7] = "1" and a version
is already current.
]]
local current = redis.call('GET', KEYS[2])
if ARGV[7] == '1' and current then
  return {0, tonumber(current)}
end
local version = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. version,
  'files', ARGV[2], 'hash', ARGV[3], 'meta', ARGV[4], 'publishedAt', ARGV[5],
  'previous', current or '0', 'restores', '0')
redis.call('SET', KEYS[2], version)
redis.call('ZADD', KEYS[3], version, version)
local keep = tonumber(ARGV[8])
local excess = redis.call('ZCARD', KEYS[3]) - keep
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[3], 0, excess - 1)
  for _, v in ipairs(old) do
    redis.call('DEL', ARGV[1] .. v)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
end
redis.call('PUBLISH', ARGV[6], version)
return {1, version}
