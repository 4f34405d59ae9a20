--[[
  Grants that reached their process too late to be used: the messages are no longer in flight and their
  attempts are not spent.

  KEYS  the message records
  ARGV  none
  Reply the number of messages
]]
--- @include "includes/message-record"

for i = 1, #KEYS do Message.unmarkInflight(KEYS[i]) end
return #KEYS
