--[[
  A pending or dead message becomes sent with EngageLab's message_id: its record, its message_id index entry
  and its campaign's counters change together (a dead one leaves the dead counts). Needs
  includes/message-record.

  msg, campaign, mid, orphan: the message record, its campaign's counters, the message_id index entry, the
  orphaned delivery rows of that message_id. current: the status before ('pending' or 'dead').
]]
local SentMessage = {}

-- Returns true when delivery rows for the message_id are waiting (orphans) to be applied.
function SentMessage.record(msg, campaign, mid, orphan, current, now, ttl, entry, messageId)
  if current == 'dead' then
    redis.call('HINCRBY', campaign, 'dead_code:' .. Message.code(msg), -1)
    redis.call('HINCRBY', campaign, 'dead', -1)
  end
  Message.markSent(msg, now, messageId, current == 'dead')
  redis.call('SET', mid, entry, 'EX', ttl)
  redis.call('HINCRBY', campaign, 'sent', 1)
  redis.call('EXPIRE', msg, ttl)
  return redis.call('EXISTS', orphan) == 1
end
