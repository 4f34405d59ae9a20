--[[
  Stores a new follow-up rule, scheduled, when there is room for it (src/campaigns/followups.ts): the rules
  kept and those scheduled or evaluating are counted and the new one written in one step, so that rules made
  at the same time never pass the bounds together. The caller passes every indexed rule's hash as it read the
  index; when the index has changed since (a rule made or pruned meanwhile), nothing is written and the
  caller reads it again.

  KEYS  1 followups       the index of rules (ids by creation time)
        2 followup        the new rule's hash
        then per rule:
       +1 rule            an indexed rule's hash, in the index's order
  ARGV  1 id              the new rule's id
        2 now             its creation time (ms), its score in the index
        3 maxActive       at most this many rules scheduled or evaluating
        4 maxKept         at most this many rules kept in all
        5 fields          JSON of the new rule's fields (field -> text)
        then per rule:
       +1 ruleId          its id
  Reply 'created'; 'active' (too many scheduled or evaluating), 'kept' (too many kept), 'changed' (the index
        is no longer as read: read it again)
]]

local n = #KEYS - 2
if redis.call('ZCARD', KEYS[1]) ~= n then return 'changed' end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, n do
  if ids[i] ~= ARGV[5 + i] then return 'changed' end
end
if n >= tonumber(ARGV[4]) then return 'kept' end
local active = 0
for i = 1, n do
  local state = redis.call('HGET', KEYS[2 + i], 'state')
  if state == 'scheduled' or state == 'evaluating' then active = active + 1 end
end
if active >= tonumber(ARGV[3]) then return 'active' end
local flat = {}
for k, v in pairs(cjson.decode(ARGV[5])) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
redis.call('HSET', KEYS[2], unpack(flat))
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 'created'
