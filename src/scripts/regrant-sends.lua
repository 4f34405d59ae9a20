--[[
  Grants that reached their process too late to be used (more than the trip after their time), given again
  for now in one short call when the pace has room for all of them, instead of being handed back
  (ungrant-sends.lua) and asked for again with every check. The checks of their grant stand (the ledger
  record, the session window, the messaging limit); what the delay may have changed is checked again: a
  pause, a hold, the outage breaker, each request's expiry, its campaign's state (paused or cancelled), an
  opt-out of its recipient (both on a first ask, as grant-sends.lua), and the pace, whose TATs move on as
  for new grants. Given again, each message's in-flight mark and pair key take the new
  time. Otherwise all are handed back, as ungrant-sends.lua does: not in flight, their attempts not spent,
  their pair keys gone.

  KEYS  1 accountPace     the account's pace (its TAT)
        2 hold            the hold (a 429's Retry-After, an outage cool-down)
        3 breaker         the outage breaker
        4 laneMeta        the lane's queue's meta hash (paused)
        5 lanePace        the lane's pace (its TAT)
        6 laneState       the lane's state (a 130429 slow-down)
        7 suppressed      suppressed numbers
        then per message:
       +1 messageKey      message record
       +2 pairKey         pair key (the lane and the recipient)
       +3 campaignKey     campaign counters (its state)
  ARGV  1 spacingMs       account spacing (ms)
        2 burstMs         burst (ms)
        3 leadMs          lead (ms: the grants are for Redis's now + lead)
        4 laneSpacingMs   lane spacing (ms)
        5 pairIntervalMs  pair interval (ms)
        6 outageThreshold outage threshold
        then per message:
       +1 expiresAt       expires at (ms, 0: never)
       +2 first           '1': a message's first ask (its grant checked its campaign and opt-out and set
                          its pair key), '0' a retry
       +3 to              recipient
  Reply { 1 given again or 0 handed back, Redis's now (ms, as a string) }
]]
--- @include "includes/message-record"

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = (#KEYS - 7) / 3
local at = now + tonumber(ARGV[3])

local function handBack()
  for i = 1, n do
    Message.unmarkInflight(KEYS[5 + i * 3])
    redis.call('DEL', KEYS[6 + i * 3])
  end
  return { 0, string.format('%.3f', now) }
end

if redis.call('HEXISTS', KEYS[4], 'paused') == 1 or redis.call('PTTL', KEYS[2]) > 0 then return handBack() end
-- Half-open: only grant-sends.lua's probe may go.
if tonumber(redis.call('HGET', KEYS[3], 'failures') or '0') >= tonumber(ARGV[6]) then return handBack() end
-- Anything that stops one of them sends all back to be asked for with every check (which gives its verdict).
local states = {}
-- The opt-out list is asked per message only when it has a member (one SCARD per call while it is empty).
local suppressed = nil
for i = 1, n do
  local expires = tonumber(ARGV[4 + i * 3])
  if expires > 0 and now >= expires then return handBack() end
  if ARGV[5 + i * 3] == '1' then
    local campaign = KEYS[7 + i * 3]
    if states[campaign] == nil then states[campaign] = redis.call('HGET', campaign, 'state') or false end
    if states[campaign] == 'paused' or states[campaign] == 'cancelled' then return handBack() end
    if suppressed == nil then suppressed = redis.call('SCARD', KEYS[7]) > 0 end
    if suppressed and redis.call('SISMEMBER', KEYS[7], ARGV[6 + i * 3]) == 1 then return handBack() end
  end
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
  Message.stampInflight(KEYS[5 + i * 3], stamp)
  if pairInterval > 0 and ARGV[5 + i * 3] == '1' then redis.call('SET', KEYS[6 + i * 3], stamp, 'PX', pairInterval) end
end
return { 1, string.format('%.3f', now) }
