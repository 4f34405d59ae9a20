--[[
  Removes one pending message on an operator's word (`wa-bulk remove`, POST /api/messages/:id/remove): it ends
  skipped with the given reason, its campaign's counters with it, under the rule of cancel-messages.lua that
  leaves each message either skipped here or sent (or dead) by its worker, never both:
  - no request made for it yet (attempts 0, not in flight): skipped, whether its job waits in a queue or a
    worker holds it before its grant (the grant then finds it settled and no request leaves);
  - a request made before (waiting out a retry's backoff): skipped only once its job was taken out of its
    queue (`removed`), which BullMQ refuses while a worker holds it;
  - anything else is left as it is, and the reply says what stopped it.
  A message skipped here gives back the FREQUENCY_CAP place it may hold (reserve-marketing.lua), as its worker
  would: it will not be sent.

  KEYS  1 archive         the change feed (includes/feed.lua)
        2 campaign        the message's campaign's counters
        3 message         message record
        4 sent            its recipient's marketing messages in the window (src/recipients/fatigue.ts)
  ARGV  1 idFrom          where the request_id starts in the record's key to archive the change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
        2 now             now (ms)
        3 ttlSeconds      ttl (s) of the skipped record
        4 reason          the skip reason ('removed')
        5 error           its words
        6 removed         '1' when its job was removed from its queue, else '0'
        7 requestId       its request_id (its member in `sent`)
  Reply 'removed', or what stopped it: 'missing' (no record), 'sent', 'dead' or 'skipped' (settled
        already), 'inflight' (a request may be on the wire), 'requested' (a request was made for it and
        its job was not removed)
]]
--- @include "includes/message-record"

local msg = KEYS[3]
local m = redis.call('HMGET', msg, 'status', 'inflight', 'attempts')
if not m[1] then return 'missing' end
if m[1] ~= 'pending' then return m[1] end
if ARGV[6] ~= '1' then
  if m[2] then return 'inflight' end
  if tonumber(m[3] or '0') > 0 then return 'requested' end
end
redis.call('ZREM', KEYS[4], ARGV[7])
Message.clearInflight(msg)
Message.markSettled(msg, 'skipped', ARGV[2], '', '', ARGV[4], ARGV[5])
redis.call('HINCRBY', KEYS[2], 'skipped', 1)
redis.call('HINCRBY', KEYS[2], 'skipped:' .. ARGV[4], 1)
redis.call('EXPIRE', msg, tonumber(ARGV[3]))
local idFrom = tonumber(ARGV[1])
Message.archive(KEYS[1], msg, idFrom, 'skipped')
return 'removed'
