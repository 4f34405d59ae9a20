--[[
  Settles messages as sent, dead or skipped (never sent on purpose: no session, its campaign cancelled, …),
  several in one call (results that finish in the same turn of a worker's event loop). A sent or skipped
  message is never changed again; a dead one may still become sent (a job that ran again while dead).
  Status and campaign counters change together.

  The campaign also counts its dead letters by code (dead_code:<code>, "none" without one), its skipped
  messages by reason (skipped:<reason>), when its first request was settled (started_at, which is also its
  campaign.started in the change feed) and its latest message (last_at, ms), and its pace: the requests
  settled (sent or dead), a count that decays by e every paceMs (pace, as of pace_at), so that pace / paceMs
  is its rate over about the last paceMs.

  The counters (sent, dead, dead_code:*, skipped:*) and the per-minute counts are summed over the call and
  written at its end (includes/tally.lua): one HINCRBY per field the call moved, not one per message. A sent
  message's orphaned delivery rows are looked for only while the orphans index has a member: every writer of
  an orphan list (apply-deliveries.lua) indexes it in the same step, and the ledger's adopt removes both
  together.

  KEYS  1 archive         the change feed (includes/feed.lua)
        2 orphans         orphaned message_ids by expiry (ms; apply-deliveries.lua)
        then per message:
       +1 messageKey      message record
       +2 campaignKey     campaign counters
       +3 messageIdKey    message_id index entry (sent)
       +4 orphanKey       orphaned delivery rows of that message_id
       +5 minutesKey      its campaign's per-minute counts: a sent message counts in its minute
                          (includes/delivery.lua)
  ARGV  1 idFrom          where the request_id starts in a record's key to archive each change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
        2 paceMs          how fast the campaign's pace forgets (ms)
        then per message:
       +1 status          'sent' | 'dead' | 'skipped'
       +2 now             now (ms)
       +3 ttlSeconds      ttl (s) of the settled record
       +4 messageIdEntry  the message_id index entry's value (sent)
       +5 messageId       EngageLab's message_id (sent)
       +6 code            why it died or was skipped: EngageLab's code,
       +7 httpStatus      the HTTP status,
       +8 reason          the reason
       +9 error           and the error message (all '' when sent)
  Reply per message: 0 unchanged, 1 changed, 2 changed and delivery rows are waiting for it
]]
--- @include "includes/message-record"
--- @include "includes/tally"
--- @include "includes/sent-message"
--- @include "includes/delivery"

local UNCHANGED, CHANGED, ORPHANS_WAITING = 0, 1, 2
local out = {}
local stream, idFrom, paceMs = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])

-- The campaign's times and pace, read at its first message in the call and written once at the end.
-- Workers' clocks differ a little: the times only move forward. A dead message that becomes sent was
-- counted in the pace when it died.
local timings, campaigns = {}, {}
local function timing(msg, campaign, status, current, now)
  local t = timings[campaign]
  if not t then
    local m = redis.call('HMGET', campaign, 'last_at', 'pace', 'pace_at')
    t = { last = tonumber(m[1]), pace = tonumber(m[2]) or 0, at = tonumber(m[3]), paced = false, started = false }
    timings[campaign] = t
    campaigns[#campaigns + 1] = campaign
  end
  if not t.last or t.last < now then t.last, t.moved = now, true end
  if status == 'skipped' or current == 'dead' then return end
  if not t.started then
    t.started = true
    if redis.call('HSETNX', campaign, 'started_at', now) == 1 then
      local id = Message.campaign(msg)
      Feed.append(stream, idFrom, 'campaign.started', id, cjson.encode({ id = id, by = 'system:workers' }))
    end
  end
  local at = t.at or now
  t.pace = t.pace * math.exp(-math.max(0, now - at) / paceMs) + 1
  t.at, t.paced = math.max(at, now), true
end

local counters, minutes = Tally.new(), Tally.new()
-- Whether any message_id has orphaned rows, read at the call's first sent message.
local orphansIndexed = nil
for i = 0, (#KEYS - 2) / 5 - 1 do
  local k = i * 5 + 2
  local msg, campaign, mid, orphan = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = i * 9 + 2
  local status, now, ttl = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local current = Message.status(msg)
  local result = CHANGED
  -- Settled: no longer in flight (Message.markSent clears it with the digest).
  if status ~= 'sent' or current == 'sent' or current == 'skipped' then Message.clearInflight(msg) end
  if current == 'sent' or current == 'skipped' or current == status then
    result = UNCHANGED
  elseif status == 'sent' then
    SentMessage.record(msg, campaign, mid, current, now, ttl, ARGV[a + 4], ARGV[a + 5], counters)
    if orphansIndexed == nil then orphansIndexed = redis.call('EXISTS', KEYS[2]) == 1 end
    if orphansIndexed and SentMessage.orphansWaiting(orphan) then result = ORPHANS_WAITING end
    Delivery.countIn(minutes, KEYS[k + 5], now, 'sent')
  else
    -- dead or skipped: why, in the same fields. Only a skipped message can have been dead before (a dead
    -- one settled dead again is unchanged); its old code is read before markSettled replaces it.
    if current == 'dead' then
      counters:add(campaign, 'dead_code:' .. Message.code(msg), -1)
      counters:add(campaign, 'dead', -1)
    end
    local code = ARGV[a + 6]
    Message.markSettled(msg, status, now, code, ARGV[a + 7], ARGV[a + 8], ARGV[a + 9])
    counters:add(campaign, status, 1)
    if status == 'dead' then
      -- As Message.code reads it back: 'none' without one.
      if code == '' then code = 'none' end
      counters:add(campaign, 'dead_code:' .. code, 1)
    else
      counters:add(campaign, 'skipped:' .. ARGV[a + 8], 1)
    end
    redis.call('EXPIRE', msg, ttl)
  end
  if result ~= UNCHANGED then
    timing(msg, campaign, status, current, tonumber(now))
    Message.archive(stream, msg, idFrom, status)
  end
  out[i + 1] = result
end
counters:write()
Delivery.writeCounts(minutes)
for _, campaign in ipairs(campaigns) do
  local t = timings[campaign]
  if t.moved and t.paced then
    redis.call('HSET', campaign, 'last_at', t.last, 'pace', string.format('%.6f', t.pace), 'pace_at', t.at)
  elseif t.moved then
    redis.call('HSET', campaign, 'last_at', t.last)
  elseif t.paced then
    redis.call('HSET', campaign, 'pace', string.format('%.6f', t.pace), 'pace_at', t.at)
  end
end
return out
