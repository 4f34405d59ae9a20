--[[
  Counts a campaign's lines refused at enqueue (rejected, over every enqueue of it, in its counters) and
  keeps the first `keep` of them in a list, so that an operator can read them after the enqueue has ended.

  KEYS  1 campaign        campaign counters
        2 rejects         the campaign's kept rejected lines
  ARGV  1 ttlSeconds      ttl (s), as the campaign's counters have at an enqueue
        2 keep            how many rejected lines a campaign keeps at most
        3 count           how many lines were rejected (the entries below may be fewer)
        then per line:
       +1 entry           a rejected line, as JSON
  Reply {the campaign's rejected count, how many lines it keeps}
]]

local ttl, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local rejected = redis.call('HINCRBY', KEYS[1], 'rejected', tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[1], ttl)
local kept = redis.call('LLEN', KEYS[2])
local last = math.min(#ARGV, 3 + keep - kept)
if last >= 4 then
  kept = redis.call('RPUSH', KEYS[2], unpack(ARGV, 4, last))
  redis.call('EXPIRE', KEYS[2], ttl)
end
return { rejected, kept }
