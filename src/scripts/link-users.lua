--[[
  Links a phone number and a business-scoped user id that one callback named together, both ways, for a
  bounded time; a link either of them had to someone else is dropped when it still points back. Then what
  was learned under the id reaches the number wa-bulk sends to: an opt-out recorded for the id suppresses
  the number, and a session window the id opened (the later of the two) is the number's too.

  KEYS  1 idLink          the id's link (its number)
        2 phoneLink       the number's link (its id)
        3 suppressed      suppressed numbers and ids
        4 idSession       the id's session window
        5 phoneSession    the number's session window
        6 staleIdLink     the link of the number the id named before (or idLink)
        7 stalePhoneLink  the link of the id the number named before (or phoneLink)
  ARGV  1 id              the business-scoped user id
        2 phone           the number (digits)
        3 ttlMs           how long the link lasts (ms)
  Reply {1 the number is suppressed now (it was not), else 0; 1 the number's session window opened, else 0}
]]

if KEYS[6] ~= KEYS[2] and redis.call('GET', KEYS[6]) == ARGV[1] then redis.call('DEL', KEYS[6]) end
if KEYS[7] ~= KEYS[1] and redis.call('GET', KEYS[7]) == ARGV[2] then redis.call('DEL', KEYS[7]) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])

-- Only the id's opt-out travels: a number suppressed by itself needs nothing more to stop its messages, and
-- removing it later must not be undone by the next link.
local suppressed = 0
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then suppressed = redis.call('SADD', KEYS[3], ARGV[2]) end

local opened = 0
local idAt = tonumber(redis.call('GET', KEYS[4]) or '')
local phoneAt = tonumber(redis.call('GET', KEYS[5]) or '')
local leftMs = redis.call('PTTL', KEYS[4])
if idAt and leftMs > 0 and (not phoneAt or idAt > phoneAt) then
  redis.call('SET', KEYS[5], tostring(idAt), 'PX', leftMs)
  opened = 1
end
return { suppressed, opened }
