--[[
  The change feed, {prefix}:archive: one Redis stream every change of the ledger and every campaign and
  fleet state change is appended to, by the script or transaction that makes the change. Its readers are
  consumer groups: the long-term ledger's archiver (src/archive/archiver.ts) and the webhook dispatcher
  (src/events/dispatcher.ts); src/events/feed.ts trims what every group has read, and caps its length.

  Three fields, always the same three (the stream then stores their names once per node): e, what happened
  (a message's change: sent, dead, skipped, delivered, read, failed, delivery_sent, revived; else an event
  type such as campaign.started); r, its subject (a request_id, a campaign id); s, its data (a message's
  record as its HGETALL reply in a JSON array [field, value, …]; else a JSON object).

  `mode` says when to append: > 0 always (a long-term ledger drains the feed), < 0 only while the stream
  exists (a reader made it: webhook endpoints are configured), 0 never. Without a reader the feed then
  costs one EXISTS per script call (a script's own appends never make the stream exist in that mode).
]]
local Feed = { present = {} }

function Feed.wanted(stream, mode)
  if mode > 0 then return true end
  if mode < 0 then
    local present = Feed.present[stream]
    if present == nil then
      present = redis.call('EXISTS', stream) == 1
      Feed.present[stream] = present
    end
    return present
  end
  return false
end

function Feed.append(stream, mode, kind, subject, data)
  if Feed.wanted(stream, mode) then redis.call('XADD', stream, '*', 'e', kind, 'r', subject, 's', data) end
end
