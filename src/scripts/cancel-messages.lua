--[[
  Skips a cancelled campaign's pending messages that no request is on the wire for, atomically with the
  send grant (grant-sends.lua), so that each message ends either skipped here or sent (or dead) by its worker,
  never both. A message is skipped when its job was taken out of its queue (`removed`: no worker holds
  it), or when it is pending, not in flight and has had no request yet (attempts 0): a job a worker holds
  but has not been granted meets the skipped record at its grant and ends without a request or a count. A
  message between two requests of a retry (attempts > 0) is left to its worker, whose next grant it is.
  Status and the campaign's counters change together, as in settle-messages.lua (skipped by reason, and the
  time of its latest settled message, last_at). A message skipped here gives back the FREQUENCY_CAP place it
  may hold (reserve-marketing.lua: its request_id in its recipient's window), as its worker would: it will
  not be sent.

  KEYS  1 archive         the change feed (includes/feed.lua)
        2 campaign        the campaign's counters
        then per message:
       +1 messageKey      message record
       +2 sent            its recipient's marketing messages in the window (src/recipients/fatigue.ts)
  ARGV  1 idFrom          where the request_id starts in a record's key to archive each change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
        2 now             now (ms)
        3 ttlSeconds      ttl (s) of the skipped record
        4 reason          the skip reason ('cancelled')
        5 error           its words
        then per message:
       +1 removed         '1' when its job was removed from its queue, else '0'
       +2 requestId       its request_id (its member in `sent`)
  Reply per message: 1 skipped now, 0 left as it was
]]
--- @include "includes/message-record"

local out = {}
local stream, campaign, idFrom = KEYS[1], KEYS[2], tonumber(ARGV[1])
local now, ttl, reason, words = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local skipped = 0
for n = 1, (#KEYS - 2) / 2 do
  local msg, sent = KEYS[2 * n + 1], KEYS[2 * n + 2]
  local m = redis.call('HMGET', msg, 'status', 'inflight', 'attempts')
  local skip = m[1] == 'pending' and (ARGV[2 * n + 4] == '1' or (not m[2] and tonumber(m[3] or '0') == 0))
  if skip then
    redis.call('ZREM', sent, ARGV[2 * n + 5])
    Message.clearInflight(msg)
    Message.markSettled(msg, 'skipped', now, '', '', reason, words)
    redis.call('HINCRBY', campaign, 'skipped', 1)
    redis.call('HINCRBY', campaign, 'skipped:' .. reason, 1)
    redis.call('EXPIRE', msg, ttl)
    skipped = skipped + 1
    Message.archive(stream, msg, idFrom, 'skipped')
    out[n] = 1
  else
    out[n] = 0
  end
end
if skipped > 0 then
  local last = tonumber(redis.call('HGET', campaign, 'last_at'))
  if not last or last < tonumber(now) then redis.call('HSET', campaign, 'last_at', now) end
end
return out
