--[[
  Status callbacks of one batch, applied in one run: each row moves its message's delivery forward (as
  apply-delivery.lua does, includes/delivery); a row for a message_id the ledger does not know is kept as an
  orphan, to be applied when the message_id is recorded (settle-messages.lua, learn-message-id.lua, then the
  ledger's adopt), within bounds: at most orphanRows rows per message_id and orphanIds message_ids in all,
  kept orphanTtl seconds ({prefix}:orphans indexes them by when they expire). Deciding here that a
  message_id is unknown and keeping its row is one step, so a worker recording that message_id at the same
  moment either comes first (the row is applied: reply 4) or finds the orphan.

  KEYS  1 metrics         the fleet's metrics hash
        2 archive         the change feed (includes/feed.lua)
        3 orphans         orphaned message_ids by expiry (ms)
        then per row:
       +1 messageKey      message record (located rows; any key of the prefix otherwise)
       +2 campaignKey     its campaign's counters (likewise)
       +3 messageIdKey    the message_id index entry
       +4 orphanKey       orphaned delivery rows of that message_id
       +5 minutesKey      its campaign's per-minute counts (likewise; includes/delivery.lua)
  ARGV  1 ranks           the ranks of all states, JSON ({"sent":1,...})
        2 idFrom          where the request_id starts in the record's key, to archive each change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
        3 now             now (ms)
        4 orphanTtl       how long orphaned rows are kept (s)
        5 orphanRows      at most this many rows kept per message_id
        6 orphanIds       at most this many message_ids with orphaned rows
        then per row:
       +1 located         1 when the message is known (message and campaign given), else 0
       +2 messageId       EngageLab's message_id
       +3 status          the delivery state
       +4 rank            its rank
       +5 at              at (ms)
       +6 errorCode       error code
       +7 error           error
       +8 lossStep        loss step
       +9 lossSource      loss source
       +10 orphanRow      the update as kept for an orphan (JSON)
       +11 billable       '<country>:<category>' when the row's pricing says billable, else ''
  Reply per row, two entries: {1 applied | 0 not further | -1 no such message | 2 kept as an orphan |
         3 not kept: an orphan bound is reached | 4 the message_id is known now (locate it again),
         the state before ('' none)}
]]
--- @include "includes/message-record"
--- @include "includes/delivery"

local APPLIED, ORPHANED, REFUSED, KNOWN_NOW = 1, 2, 3, 4
local ranks = cjson.decode(ARGV[1])
local idFrom, now, orphanTtl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local orphanRows, orphanIds = tonumber(ARGV[5]), tonumber(ARGV[6])
local pruned = false
local reply = {}
local n = (#KEYS - 3) / 5
for i = 0, n - 1 do
  local k, a = 3 + i * 5, 6 + i * 11
  local messageId = ARGV[a + 2]
  local verdict, previous
  if ARGV[a + 1] == '1' then
    verdict, previous = Delivery.apply(KEYS[k + 1], KEYS[k + 2], KEYS[1], KEYS[2], idFrom, ranks, ARGV[a + 3],
      ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], KEYS[k + 5], ARGV[a + 11])
  elseif redis.call('EXISTS', KEYS[k + 3]) == 1 then
    verdict, previous = KNOWN_NOW, ''
  else
    if not pruned then
      -- The index is scored by Redis's clock, the clock the lists expire by: a caller's clock ahead of it
      -- would drop an entry while its list still lives, and settle-messages.lua would not look for it.
      local t = redis.call('TIME')
      pruned = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', pruned)
    end
    local kept = redis.call('LLEN', KEYS[k + 4])
    if kept >= orphanRows or (kept == 0 and redis.call('ZCARD', KEYS[3]) >= orphanIds) then
      verdict = REFUSED
    else
      redis.call('RPUSH', KEYS[k + 4], ARGV[a + 10])
      redis.call('EXPIRE', KEYS[k + 4], orphanTtl)
      redis.call('ZADD', KEYS[3], pruned + orphanTtl * 1000, messageId)
      verdict = ORPHANED
    end
    previous = ''
  end
  reply[#reply + 1] = verdict
  reply[#reply + 1] = previous
end
return reply
