--[[
  Grants that reached their process too late to be used (more than the trip after their time), given again
  for now in one short call when the pace has room for all of them, instead of being handed back
  (ungrant-sends.lua) and asked for again with every check. The checks of their grant stand (the ledger
  record, the campaign, an opt-out, the session window, the messaging limit); what the delay may have
  changed is checked again: a pause, a hold, the outage breaker, each request's expiry, and the pace, whose
  TATs move on as for new grants. Given again, each message's in-flight mark and pair key take the new
  time. Otherwise all are handed back, as ungrant-sends.lua does: not in flight, their attempts not spent,
  their pair keys gone.

  KEYS  1 accountPace     the account's pace (its TAT)
        2 hold            the hold (a 429's Retry-After, an outage cool-down)
        3 breaker         the outage breaker
        4 laneMeta        the lane's queue's meta hash (paused)
        5 lanePace        the lane's pace (its TAT)
        6 laneState       the lane's state (a 130429 slow-down)
        then per message:
       +1 messageKey      message record
       +2 pairKey         pair key (the lane and the recipient)
  ARGV  1 spacingMs       account spacing (ms)
        2 burstMs         burst (ms)
        3 leadMs          lead (ms: the grants are for Redis's now + lead)
        4 laneSpacingMs   lane spacing (ms)
        5 pairIntervalMs  pair interval (ms)
        6 outageThreshold outage threshold
        then per message:
       +1 expiresAt       expires at (ms, 0: never)
       +2 pair            '1': its grant set its pair key (a first ask), '0' not (a retry)
  Reply { 1 given again or 0 handed back, Redis's now (ms, as a string) }
]]
--- @include "includes/message-record"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = (#KEYS - 6) / 2
local at = now + tonumber(ARGV[3])

local function handBack()
  for i = 1, n do
    Message.unmarkInflight(KEYS[5 + i * 2])
    redis.call('DEL', KEYS[6 + i * 2])
  end
  return { 0, string.format('%.3f', now) }
end

if redis.call('HEXISTS', KEYS[4], 'paused') == 1 or redis.call('PTTL', KEYS[2]) > 0 then return handBack() end
-- Half-open: only grant-sends.lua's probe may go.
if tonumber(redis.call('HGET', KEYS[3], 'failures') or '0') >= tonumber(ARGV[6]) then return handBack() end
for i = 1, n do
  local expires = tonumber(ARGV[5 + i * 2])
  if expires > 0 and now >= expires then return handBack() end
end

local horizon = at + tonumber(ARGV[2])
local spacing, laneSpacing = tonumber(ARGV[1]), tonumber(ARGV[4])
local slow = redis.call('HMGET', KEYS[6], 'slow_factor', 'slow_until')
if slow[2] and tonumber(slow[2]) > now then laneSpacing = laneSpacing / tonumber(slow[1]) end
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), at)
local laneTat = math.max(tonumber(redis.call('GET', KEYS[5]) or '0'), at)
-- Every grant while both TATs <= the horizon, as grant-sends.lua: all of them, or none.
if tat + (n - 1) * spacing > horizon or laneTat + (n - 1) * laneSpacing > horizon then return handBack() end
tat, laneTat = tat + n * spacing, laneTat + n * laneSpacing
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 60000)
redis.call('SET', KEYS[5], string.format('%.3f', laneTat), 'PX', math.ceil(laneTat - now) + 60000)

local stamp = math.floor(at)
local pairInterval = tonumber(ARGV[5])
for i = 1, n do
  Message.stampInflight(KEYS[5 + i * 2], stamp)
  if pairInterval > 0 and ARGV[6 + i * 2] == '1' then redis.call('SET', KEYS[6 + i * 2], stamp, 'PX', pairInterval) end
end
return { 1, string.format('%.3f', now) }
