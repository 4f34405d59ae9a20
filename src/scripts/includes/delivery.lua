--[[
  A message's delivery state moved forward (never back), with its campaign's and the fleet's funnel counters:
  each message is counted once, at its furthest state; the campaign also counts its failed messages by error
  code. Needs includes/message-record (and includes/tally for Delivery.countIn).

  Delivery.apply(msg, campaign, metrics, archive, idFrom, ranks, status, rank, at, code, error, lossStep, lossSource,
                 minutes, billable)
  returns 1 applied | 0 not further than the current state | -1 no such message, and the state before ('' none).
  ranks: the rank of every state ({sent = 1, ...}); idFrom: where the request_id starts in the record's key, to
  archive the change, or 0.
  minutes: the campaign's per-minute counts (Delivery.count); each state a message reaches is counted once, in
  the minute of its callback's time (`at`); a message read before any delivered report counts as delivered too.
  billable: '' when the callback carries no billable pricing, else '<country>:<category>'. Meta bills a delivered
  message, and its pricing may come on any of its callbacks (sent, delivered), in any order: the first pricing
  is kept on the message, and the campaign counts it billable (billable:<country>:<category>) once it is both
  priced and delivered (or read), once. Without pricing this costs no command.
]]
local Delivery = {}

-- The campaign's per-minute hash {prefix}:campaign:{id}:minutes: field '<minute since the epoch>:<kind>'.
-- One HINCRBY; the hash expires with the campaign (its TTL is set at each enqueue). A count that comes first
-- (a worker faster than the enqueue's note) or after it expired (a late callback) would leave a hash without
-- an expiry: the first count of each minute looks, and gives such a hash ORPHAN_MINUTES_TTL.
local ORPHAN_MINUTES_TTL = 30 * 86400
local function minuteField(atMs, kind)
  return math.floor(tonumber(atMs) / 60000) .. ':' .. kind
end

local function keepExpiring(minutes)
  if redis.call('TTL', minutes) == -1 then redis.call('EXPIRE', minutes, ORPHAN_MINUTES_TTL) end
end

function Delivery.count(minutes, atMs, kind)
  if redis.call('HINCRBY', minutes, minuteField(atMs, kind), 1) == 1 then keepExpiring(minutes) end
end

-- The same counts for many messages (includes/tally.lua): added up in the script, then written by
-- Delivery.writeCounts once per minute and kind, with the same expiry rule.
function Delivery.countIn(tally, minutes, atMs, kind)
  tally:add(minutes, minuteField(atMs, kind), 1)
end

function Delivery.writeCounts(tally)
  tally:write(keepExpiring)
end

function Delivery.apply(msg, campaign, metrics, archive, idFrom, ranks, status, rank, at, code, error, lossStep, lossSource,
                        minutes, billable)
  local id, current, pricedAs, billed = Message.deliveryView(msg)
  if not id then return -1, '' end
  if billable ~= '' and not pricedAs then
    Message.setBillableAs(msg, billable)
    pricedAs = billable
  end
  local currentRank = 0
  if current then currentRank = ranks[current] or 0 end
  local further = tonumber(rank) > currentRank
  local reached = current
  if further then reached = status end
  if pricedAs and not billed and (reached == 'delivered' or reached == 'read') then
    Message.markBilled(msg)
    redis.call('HINCRBY', campaign, 'billable:' .. pricedAs, 1)
  end
  if not further then return 0, current or '' end
  -- The campaign counts its failed messages by error code (delivery_code:<code>, "none" without one).
  if current == 'failed' then redis.call('HINCRBY', campaign, 'delivery_code:' .. Message.deliveryErrorCode(msg), -1) end
  Message.setDelivery(msg, status, at, code, error, lossStep, lossSource)
  if status == 'failed' then redis.call('HINCRBY', campaign, 'delivery_code:' .. Message.deliveryErrorCode(msg), 1) end
  for _, counters in ipairs({ campaign, metrics }) do
    if current then redis.call('HINCRBY', counters, 'delivery:' .. current, -1) end
    redis.call('HINCRBY', counters, 'delivery:' .. status, 1)
  end
  if status ~= 'sent' then Delivery.count(minutes, at, status) end
  -- Read proves delivered: a read reported before its delivered counts as delivered too, as the funnel does.
  if status == 'read' and currentRank < ranks['delivered'] then Delivery.count(minutes, at, 'delivered') end
  local kind = status
  if status == 'sent' then kind = 'delivery_sent' end
  Message.archive(archive, msg, idFrom, kind)
  return 1, current or ''
end
