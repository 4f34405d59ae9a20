--[[
  dead -> pending, for a replay of its dead letter.

  KEYS  1 message         message record
        2 campaign        campaign counters
        3 archive         the change feed (includes/feed.lua)
  ARGV  1 now             now (ms)
        2 ttlSeconds      ttl (s) of a pending record
        3 idFrom          where the request_id starts in the record's key, to archive the change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
  Reply 1 revived, 0 it was not dead
]]
--- @include "includes/message-record"

if Message.status(KEYS[1]) ~= 'dead' then return 0 end
redis.call('HINCRBY', KEYS[2], 'dead_code:' .. Message.code(KEYS[1]), -1)
Message.revive(KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'dead', -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
Message.archive(KEYS[3], KEYS[1], tonumber(ARGV[3]), 'revived')
return 1
