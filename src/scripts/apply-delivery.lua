--[[
  Moves a message's delivery state forward (never back) and keeps the campaign's and the fleet's funnel
  counters in step: each message is counted once, at its furthest state. The campaign also counts its
  failed messages by error code (delivery_code:<code>, "none" without one).

  KEYS  1 message         message record
        2 campaign        its campaign's counters
        3 metrics         the fleet's metrics hash
        4 archive         the archive stream
  ARGV  1 status          the delivery state
        2 rank            its rank
        3 at              at (ms)
        4 errorCode       error code
        5 error           error
        6 lossStep        loss step
        7 lossSource      loss source
        8 ranks           the ranks of all states, JSON ({"sent":1,...})
        9 idFrom          where the request_id starts in the record's key, to archive the change
                          (DATABASE_URL set), or 0
  Reply {1 applied | 0 not further than the current state | -1 no such message, the state before ('' none)}
]]
--- @include "includes/message-record"

if not Message.campaign(KEYS[1]) then return { -1, '' } end
local current = Message.deliveryStatus(KEYS[1])
local ranks = cjson.decode(ARGV[8])
local currentRank = 0
if current then currentRank = ranks[current] or 0 end
if tonumber(ARGV[2]) <= currentRank then return { 0, current or '' } end
if current == 'failed' then redis.call('HINCRBY', KEYS[2], 'delivery_code:' .. Message.deliveryErrorCode(KEYS[1]), -1) end
Message.setDelivery(KEYS[1], ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if ARGV[1] == 'failed' then redis.call('HINCRBY', KEYS[2], 'delivery_code:' .. Message.deliveryErrorCode(KEYS[1]), 1) end
for _, counters in ipairs({ KEYS[2], KEYS[3] }) do
  if current then redis.call('HINCRBY', counters, 'delivery:' .. current, -1) end
  redis.call('HINCRBY', counters, 'delivery:' .. ARGV[1], 1)
end
if tonumber(ARGV[9]) > 0 then Message.archive(KEYS[4], KEYS[1], tonumber(ARGV[9])) end
return { 1, current or '' }
