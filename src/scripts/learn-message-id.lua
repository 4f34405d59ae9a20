--[[
  A status callback for a message_id the ledger does not know names this message's request_id in its
  custom_args (wa_bulk_request_id): EngageLab accepted a request for it. When wa-bulk never learned how that
  request ended (dead with reason unknown_outcome, or pending after a request was granted: in flight, its
  worker gone, or revived by a replay), the message becomes sent with that message_id, as settle-messages.lua
  records a send: its record, its message_id index entry and its campaign's counters together. Decided here,
  so a worker writing its own outcome at the same moment finds the message sent (its dead letter then goes).
  Any other message is left as it is (sent under another message_id, dead for a known reason, skipped).

  KEYS  1 message         message record
        2 campaign        its campaign's counters
        3 messageIdKey    the message_id index entry
        4 orphanKey       orphaned delivery rows of that message_id
        5 archive         the change feed (includes/feed.lua)
        6 minutes         its campaign's per-minute counts: the send counts in its minute, as a settled
                          one does (includes/delivery.lua)
  ARGV  1 campaign        the message's campaign (read before the call; checked here)
        2 messageId       EngageLab's message_id
        3 messageIdEntry  the message_id index entry's value
        4 now             now (ms)
        5 ttlSeconds      ttl (s) of the sent record
        6 idFrom          where the request_id starts in the record's key, to archive the change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
  Reply {1 learned | 2 learned, and delivery rows are waiting for it | 0 left as it is,
         the status before ('' none)}
]]
--- @include "includes/message-record"
--- @include "includes/tally"
--- @include "includes/sent-message"
--- @include "includes/delivery"

local LEFT, LEARNED, ORPHANS_WAITING = 0, 1, 2
local before = Message.outcomeUnknown(KEYS[1])
if not before or Message.campaign(KEYS[1]) ~= ARGV[1] then return { LEFT, Message.status(KEYS[1]) or '' } end
Message.clearInflight(KEYS[1])
local counters = Tally.new()
SentMessage.record(KEYS[1], KEYS[2], KEYS[3], before, ARGV[4], tonumber(ARGV[5]), ARGV[3], ARGV[2], counters)
counters:write()
local orphans = SentMessage.orphansWaiting(KEYS[4])
Message.archive(KEYS[5], KEYS[1], tonumber(ARGV[6]), 'sent')
Delivery.count(KEYS[6], ARGV[4], 'sent')
if orphans then return { ORPHANS_WAITING, before } end
return { LEARNED, before }
