--[[
  How a request went, for the outage breaker: consecutive transient failures of the whole fleet up to the
  threshold open it (the hold key, for a cool-down that doubles each time a probe fails, up to its maximum);
  a success closes it.

  KEYS  1 breaker         breaker
        2 hold            hold
        3 probe           probe
        4 messageKey      message record, and
        5 pairKey         its pair key (any keys when ARGV 6 is '0')
  ARGV  1 outcome         'ok' | 'fail'
        2 threshold       threshold
        3 cooldownMs      first cool-down (ms)
        4 cooldownMaxMs   longest cool-down (ms)
        5 probe           '1' when the request was the half-open probe
        6 notSent         '1': the request cannot have been accepted: clear the message's in-flight mark
                          and its pair key
        7 now             now (ms)
  Reply the cool-down started (ms), or 0
]]
--- @include "includes/message-record"

if ARGV[6] == '1' then
  Message.clearInflight(KEYS[4])
  redis.call('DEL', KEYS[5])
end
if ARGV[5] == '1' then redis.call('DEL', KEYS[3]) end
if ARGV[1] == 'ok' then
  redis.call('HSET', KEYS[1], 'failures', 0, 'cooldown', ARGV[3])
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local threshold = tonumber(ARGV[2])
if failures == threshold or (failures > threshold and ARGV[5] == '1') then
  local cooldown = tonumber(redis.call('HGET', KEYS[1], 'cooldown') or ARGV[3])
  redis.call('SET', KEYS[2], 'outage', 'PX', cooldown)
  redis.call('HSET', KEYS[1], 'cooldown', math.min(cooldown * 2, tonumber(ARGV[4])), 'opened_at', ARGV[7])
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  return cooldown
end
return 0
