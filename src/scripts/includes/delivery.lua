--[[
  A message's delivery state moved forward (never back), with its campaign's and the fleet's funnel counters:
  each message is counted once, at its furthest state; the campaign also counts its failed messages by error
  code. Needs includes/message-record.

  Delivery.apply(msg, campaign, metrics, archive, idFrom, ranks, status, rank, at, code, error, lossStep, lossSource)
  returns 1 applied | 0 not further than the current state | -1 no such message, and the state before ('' none).
  ranks: the rank of every state ({sent = 1, ...}); idFrom: where the request_id starts in the record's key, to
  archive the change, or 0.
]]
local Delivery = {}

function Delivery.apply(msg, campaign, metrics, archive, idFrom, ranks, status, rank, at, code, error, lossStep, lossSource)
  if not Message.campaign(msg) then return -1, '' end
  local current = Message.deliveryStatus(msg)
  local currentRank = 0
  if current then currentRank = ranks[current] or 0 end
  if tonumber(rank) <= currentRank then return 0, current or '' end
  -- The campaign counts its failed messages by error code (delivery_code:<code>, "none" without one).
  if current == 'failed' then redis.call('HINCRBY', campaign, 'delivery_code:' .. Message.deliveryErrorCode(msg), -1) end
  Message.setDelivery(msg, status, at, code, error, lossStep, lossSource)
  if status == 'failed' then redis.call('HINCRBY', campaign, 'delivery_code:' .. Message.deliveryErrorCode(msg), 1) end
  for _, counters in ipairs({ campaign, metrics }) do
    if current then redis.call('HINCRBY', counters, 'delivery:' .. current, -1) end
    redis.call('HINCRBY', counters, 'delivery:' .. status, 1)
  end
  local kind = status
  if status == 'sent' then kind = 'delivery_sent' end
  Message.archive(archive, msg, idFrom, kind)
  return 1, current or ''
end
