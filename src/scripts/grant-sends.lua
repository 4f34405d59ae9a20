--[[
  Send grants for the head of one worker process's queue of requests of one sender lane, decided with
  Redis's clock, in order:
  1. paused: the lane's queue is paused (the fleet's pause pauses every lane): no request may leave;
  2. held: a 429's Retry-After or an outage cool-down is running (account-wide): ask again when it ends;
  3. half-open: after a cool-down only one probe request may go until it succeeds or fails;
  4. per request, its expiry (every ask: a message is never sent after the instant), then on its first ask
     (a retry of a granted request skips these): its ledger record (already sent or dead, or in flight when
     a worker died: no grant; given a digest, a job whose campaign, recipient or payload is not the
     record's, or that has no record: 'tampered:<what>'), its campaign (paused or cancelled), an opt-out of its recipient, the session
     window (SESSION_CHECK), the pair interval and the messaging limit; a request stopped by one of them
     gets its verdict and the next requests go on;
  5. the pace: two GCRAs, the account's and the lane's (each key holds its theoretical arrival time TAT),
     grant while both TATs <= now + lead + burst, each grant moving both on by their spacing (the lane's
     spacing grows while a 130429 slow-down lasts). The answer stops at the first request that must wait.
  A granted request's message is marked in flight (its attempt counted), its pair key set, and a template
  message's recipient takes (or refreshes) its place in the messaging limit's window.

  KEYS  1 accountPace     the account's pace (its TAT)
        2 hold            the hold (a 429's Retry-After, an outage cool-down)
        3 breaker         the outage breaker
        4 probe           its half-open probe
        5 laneMeta        the lane's queue's meta hash (paused)
        6 lanePace        the lane's pace (its TAT)
        7 laneState       the lane's state (a 130429 slow-down)
        8 tier            messaging-limit window (recipient -> ms of their latest template message)
        9 tierHeld        messages held by it (request_id -> ms it was last held)
       10 control         the fleet's control hash
       11 suppressed      suppressed numbers
        then per request:
       +1 messageKey      message record
       +2 campaignKey     campaign counters
       +3 pairKey         pair key (the lane and the recipient)
       +4 sessionKey      the recipient's session key
  ARGV  1 spacingMs       account spacing (ms)
        2 burstMs         burst (ms)
        3 probeToken      probe token
        4 outageThreshold outage threshold
        5 probeTtlMs      probe ttl (ms)
        6 leadMs          lead (ms: the grants are for Redis's now + lead)
        7 laneSpacingMs   lane spacing (ms)
        8 pairIntervalMs  pair interval (ms)
        9 messagingLimit  messaging limit (a number, -1 unlimited, or 'auto': the control hash's
                          messaging_limit)
       10 messagingWindowMs its window (ms)
       11 sessionCheck    session check ('1' enforce)
        then per request:
       +1 check           ledger check (0 none: a retry; 1 settled; 2 settled or in flight)
       +2 to              recipient
       +3 template        template ('1' or '0')
       +4 requestId       request_id
       +5 expiresAt       expires at (ms, 0: never)
       +6 campaign        its campaign
       +7 digest          its payload's digest ('': the job is not compared with its record)
]]
--- @include "includes/message-record"

local ANSWERED, HELD, PAUSED = 0, 1, 2
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = (#KEYS - 11) / 4
local out = { ANSWERED, 0, 0, 0, string.format('%.3f', now) }
if redis.call('HEXISTS', KEYS[5], 'paused') == 1 then out[1] = PAUSED return out end
local hold = redis.call('PTTL', KEYS[2])
if hold > 0 then out[1] = HELD out[2] = hold return out end

local at = now + tonumber(ARGV[6])
local horizon = at + tonumber(ARGV[2])
local spacing = tonumber(ARGV[1])
local laneSpacing = tonumber(ARGV[7])
local slow = redis.call('HMGET', KEYS[7], 'slow_factor', 'slow_until')
if slow[2] and tonumber(slow[2]) > now then laneSpacing = laneSpacing / tonumber(slow[1]) end
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), at)
local laneTat = math.max(tonumber(redis.call('GET', KEYS[6]) or '0'), at)
local failures = tonumber(redis.call('HGET', KEYS[3], 'failures') or '0')
local limit = n
if failures >= tonumber(ARGV[4]) then
  -- Half-open: one probe for the whole fleet, and only when the pace allows a request at all.
  if tat > horizon or laneTat > horizon then
    out[2] = string.format('%.3f', math.max(tat, laneTat) - horizon)
    for i = 1, n do out[5 + i] = 'w' end
    return out
  end
  if not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[5]) then
    local p = redis.call('PTTL', KEYS[4])
    if p < 0 then p = 100 end
    out[1] = HELD out[2] = math.min(p, 250) out[4] = failures
    return out
  end
  out[3] = 1
  limit = 1
end
out[4] = failures

-- The messaging limit: distinct recipients of template messages in the moving window.
local tierLimit = ARGV[9]
if tierLimit == 'auto' then tierLimit = redis.call('HGET', KEYS[10], 'messaging_limit') or '-1' end
tierLimit = tonumber(tierLimit) or -1
local window = tonumber(ARGV[10])
local tierUsed = nil
local function tierVerdict(recipient)
  if tierLimit < 0 then return nil end
  if not tierUsed then
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now - window)
    redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now - window)
    tierUsed = redis.call('ZCARD', KEYS[8])
  end
  if redis.call('ZSCORE', KEYS[8], recipient) then return nil end
  if tierUsed < tierLimit then return nil end
  -- Full: a place frees when the oldest recipient's latest message leaves the window.
  local oldest = redis.call('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
  local freeIn = 1000
  if oldest[2] then freeIn = math.max(1, tonumber(oldest[2]) + window - now) end
  return 'limit:' .. math.ceil(freeIn)
end

-- A campaign's state, read once per call (a batch is mostly one campaign's messages).
local campaignStates = {}
local function campaignState(campaign)
  local state = campaignStates[campaign]
  if state == nil then
    state = redis.call('HGET', campaign, 'state') or false
    campaignStates[campaign] = state
  end
  return state
end

-- Whether any number is suppressed, read at the first request that asks (one SCARD per call rather than a
-- SISMEMBER per request while the set is empty).
local suppressedCount = nil
local function anySuppressed()
  if not suppressedCount then suppressedCount = redis.call('SCARD', KEYS[11]) end
  return suppressedCount > 0
end

local pairInterval = tonumber(ARGV[8])
local granted = 0
local stamp = math.floor(at)
for i = 1, n do
  local k = 11 + (i - 1) * 4
  local msg, campaign, pair, session = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = 11 + (i - 1) * 7
  local check, recipient, template, requestId = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3] == '1', ARGV[a + 4]
  local expires = tonumber(ARGV[a + 5])
  local verdict = nil
  local record = nil
  local pairTaken = false
  if expires > 0 and now >= expires then verdict = 'expired' end
  if not verdict and check ~= '0' then
    record = Message.sendState(msg)
    verdict = Message.settledState(record, check == '2')
    if not verdict and ARGV[a + 7] ~= '' then
      local differs = Message.mismatch(record, ARGV[a + 6], recipient, ARGV[a + 7])
      if differs then verdict = 'tampered:' .. differs end
    end
    if not verdict then
      local state = campaignState(campaign)
      if state == 'paused' or state == 'cancelled' then verdict = state end
    end
    if not verdict and anySuppressed() and redis.call('SISMEMBER', KEYS[11], recipient) == 1 then verdict = 'suppressed' end
    if not verdict and not template and ARGV[11] == '1' and redis.call('EXISTS', session) == 0 then verdict = 'nosession' end
    if not verdict and pairInterval > 0 then
      -- The pair key is taken now, as the grant would take it (one command instead of a PTTL and a SET),
      -- and given back below if the request is not granted after all.
      if redis.call('SET', pair, stamp, 'PX', pairInterval, 'NX') then
        pairTaken = true
      else
        local left = redis.call('PTTL', pair)
        if left > 0 then verdict = 'pair:' .. left end
      end
    end
    if not verdict and template then verdict = tierVerdict(recipient) end
    if verdict and string.sub(verdict, 1, 6) == 'limit:' then redis.call('ZADD', KEYS[9], now, requestId) end
    if verdict and pairTaken then redis.call('DEL', pair) end
  end
  if not verdict then
    if granted < limit and tat <= horizon and laneTat <= horizon then
      verdict = 'g'
      granted = granted + 1
      tat = tat + spacing
      laneTat = laneTat + laneSpacing
      Message.markInflight(msg, stamp, record)
      if check ~= '0' then
        if pairInterval > 0 and not pairTaken then redis.call('SET', pair, stamp, 'PX', pairInterval) end
        if template and tierLimit >= 0 then
          if not redis.call('ZSCORE', KEYS[8], recipient) then tierUsed = tierUsed + 1 end
          redis.call('ZADD', KEYS[8], now, recipient)
          redis.call('ZREM', KEYS[9], requestId)
        end
      end
    else
      if pairTaken then redis.call('DEL', pair) end
      for j = i, n do out[5 + j] = 'w' end
      break
    end
  end
  out[5 + i] = verdict
end
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 60000)
  redis.call('SET', KEYS[6], string.format('%.3f', laneTat), 'PX', math.ceil(laneTat - now) + 60000)
end
if out[3] == 1 and granted == 0 then redis.call('DEL', KEYS[4]) out[3] = 0 end
out[2] = string.format('%.3f', math.max(0, math.max(tat, laneTat) - horizon))
return out
