--[[
  Grants that reached their process too late to be used: the messages are no longer in flight, their
  attempts are not spent, and their pair keys go (the request did not leave, so the recipient's pair
  interval has not started).

  KEYS  then per message:
       +1 messageKey      message record
       +2 pairKey         pair key
  ARGV  none
  Reply the number of messages
]]
--- @include "includes/message-record"

for i = 1, #KEYS, 2 do
  Message.unmarkInflight(KEYS[i])
  redis.call('DEL', KEYS[i + 1])
end
return #KEYS / 2
