--[[
  Takes webhook deliveries whose next attempt is due (src/events/endpoints.ts: an endpoint's retries), and
  leases them: each taken one's time moves leaseMs ahead, so that another dispatcher does not take it too,
  and a dispatcher that dies with it in hand leaves it to be taken again once the lease ends.

  KEYS  1 retries         the endpoint's retries (sorted set by due time, ms)
  ARGV  1 now             now (ms)
        2 leaseMs         how long a taken delivery is this dispatcher's (ms)
        3 count           at most this many
  Reply the deliveries taken
]]
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), member)
end
return due
