--[[
  A pending or dead message becomes sent with EngageLab's message_id: its record, its message_id index entry
  and its campaign's counters change together (a dead one leaves the dead counts). Needs
  includes/message-record and includes/tally.

  msg, campaign, mid: the message record, its campaign's counters, the message_id index entry. current: the
  status before ('pending' or 'dead'). tally: where the campaign's counters are summed (includes/tally.lua;
  the caller writes it before it returns).
]]
local SentMessage = {}

function SentMessage.record(msg, campaign, mid, current, now, ttl, entry, messageId, tally)
  if current == 'dead' then
    tally:add(campaign, 'dead_code:' .. Message.code(msg), -1)
    tally:add(campaign, 'dead', -1)
  end
  Message.markSent(msg, now, messageId, current == 'dead')
  redis.call('SET', mid, entry, 'EX', ttl)
  tally:add(campaign, 'sent', 1)
  redis.call('EXPIRE', msg, ttl)
end

-- Whether delivery rows for the message_id are waiting (orphans, kept by apply-deliveries.lua) to be applied.
function SentMessage.orphansWaiting(orphan)
  return redis.call('EXISTS', orphan) == 1
end
