--[[
  A delivery update applied to a message only the long-term ledger still holds (its Redis record expired
  after HOT_TTL_SECONDS): the campaign's and the fleet's funnel counters move with it, as apply-delivery.lua
  moves them (the campaign's failed deliveries by code too). A campaign whose counters have expired is not
  brought back. A message that becomes delivered (or read) here with a callback that prices it billable is
  counted billable (billable:<country>:<category>), once: its delivery only moves forward, and it reaches
  delivered once. Pricing that came on an earlier callback, while Redis held the record, is not known here.

  KEYS  1 campaign        the campaign's counters
        2 metrics         the fleet's metrics hash
  ARGV  1 from            the state before ('' for none)
        2 to              the new state
        3 fromCode        the error code before, when it was 'failed' ('' without one)
        4 toCode          the new error code, when it is 'failed' ('' without one)
        5 billable        '<country>:<category>' when this callback prices it billable, else ''
  Reply 1 when the campaign's counters moved, 0 when only the fleet's did
]]

local function codeOf(code)
  if code == '' then return 'none' end
  return code
end

local moved = 0
for i, counters in ipairs(KEYS) do
  if i == 2 or redis.call('EXISTS', counters) == 1 then
    if ARGV[1] ~= '' then redis.call('HINCRBY', counters, 'delivery:' .. ARGV[1], -1) end
    redis.call('HINCRBY', counters, 'delivery:' .. ARGV[2], 1)
    if i == 1 then
      moved = 1
      if ARGV[1] == 'failed' then redis.call('HINCRBY', counters, 'delivery_code:' .. codeOf(ARGV[3]), -1) end
      if ARGV[2] == 'failed' then redis.call('HINCRBY', counters, 'delivery_code:' .. codeOf(ARGV[4]), 1) end
      local reached = ARGV[2] == 'delivered' or ARGV[2] == 'read'
      local before = ARGV[1] == 'delivered' or ARGV[1] == 'read'
      if ARGV[5] ~= '' and reached and not before then redis.call('HINCRBY', counters, 'billable:' .. ARGV[5], 1) end
    end
  end
end
return moved
