--[[
  Moves a follow-up rule from one of the states it may leave to the next one (src/campaigns/followups.ts),
  setting its fields in the same step, so that a cancel and the rule's evaluation never both win.

  KEYS  1 followup        the rule's hash
        2 lock            optional: the lock of the rule's job (BullMQ's <job>:lock), held while a worker runs it
  ARGV  1 from            the states it may move from, comma-separated
        2 to              the state it moves to
        3 fields          JSON of field -> value to set with it
        4 keepMs          then expires after this many ms ('': kept)
        5 busy            optional: a state it may leave only while KEYS[2] does not exist
  Reply {1 moved or 0 not, the state it was in ('' for no such rule)}
]]

local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == state then allowed = true end
end
if not allowed then return {0, state} end
-- An evaluation a worker is running now is not interrupted; one whose job failed or lost its worker may be.
if ARGV[5] and ARGV[5] == state and redis.call('EXISTS', KEYS[2]) == 1 then return {0, state} end
local fields = cjson.decode(ARGV[3])
-- started_at keeps its first value: an evaluation taken up again after a crash began when the first did.
if fields.started_at and redis.call('HEXISTS', KEYS[1], 'started_at') == 1 then fields.started_at = nil end
local flat = {'state', ARGV[2]}
for k, v in pairs(fields) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
redis.call('HSET', KEYS[1], unpack(flat))
if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {1, state}
