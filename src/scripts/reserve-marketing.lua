--[[
  Marketing fatigue's check of one marketing template message as it is about to be sent
  (src/recipients/fatigue.ts): a recipient resting after Meta's 131049 gets nothing until the rest has passed
  (a place the message held is given back: it will ask again); otherwise, with a cap, the message takes one
  of the recipient's places in the rolling window, or is refused when they are all taken. A message that
  holds a place already (its job waited and came back, or was retried) keeps it, at its new time. Checked
  and taken in one step, so two workers cannot both take the last place.

  KEYS  1 sent        the recipient's marketing messages in the window (sorted set: request_id by ms)
        2 rest        the recipient's rest (expires when it ends)
        3 message     the message's record: fatigue judges only a message still pending with no request on
                      the wire; any other (settled, in flight when a worker died) is left to the send grant,
                      which knows what to do with it, and keeps whatever place it holds
  ARGV  1 requestId   the message's request_id
        2 now         now (ms)
        3 max         the cap (0: none, only the rest is checked)
        4 windowMs    the cap's rolling window (ms)
  Reply {0 granted | 1 capped | 2 resting | 3 not pending, ms left of the rest (0 unless resting)}
]]

local GRANTED, CAPPED, RESTING, NOT_PENDING = 0, 1, 2, 3
local record = redis.call('HMGET', KEYS[3], 'status', 'inflight')
if record[1] ~= 'pending' or record[2] then return {NOT_PENDING, 0} end
local restMs = redis.call('PTTL', KEYS[2])
if restMs > 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {RESTING, restMs}
end
local max = tonumber(ARGV[3])
if max == 0 then return {GRANTED, 0} end
local now = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held and redis.call('ZCARD', KEYS[1]) >= max then return {CAPPED, 0} end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], windowMs)
return {GRANTED, 0}
