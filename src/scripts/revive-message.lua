--[[
  dead -> pending, for a replay of its dead letter.

  KEYS  1 message record   2 campaign counters
  ARGV  1 now (ms)
  Reply 1 revived, 0 it was not dead
]]
--- @include "includes/message-record"

if Message.status(KEYS[1]) ~= 'dead' then return 0 end
redis.call('HINCRBY', KEYS[2], 'dead_code:' .. Message.code(KEYS[1]), -1)
Message.revive(KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'dead', -1)
return 1
