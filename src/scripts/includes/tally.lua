--[[
  Counter changes summed in a script and written at its end: one HINCRBY per hash and field, however many
  messages of the call moved it. A script runs alone, so nothing reads a counter between the two.

  local tally = Tally.new()
  tally:add(hash, field, by)   adds `by` to the field's sum
  tally:write(made)            writes the sums, in the order their fields were first added, and skips a sum
                               of 0; made(hash), when given, is called once for each hash where a write
                               created a field (its count was 0 or absent before)
]]
local Tally = {}
Tally.__index = Tally

function Tally.new()
  return setmetatable({ hashes = {}, sums = {}, fields = {} }, Tally)
end

function Tally:add(hash, field, by)
  local sums = self.sums[hash]
  if not sums then
    sums = {}
    self.sums[hash], self.fields[hash] = sums, {}
    self.hashes[#self.hashes + 1] = hash
  end
  local was = sums[field]
  if not was then
    local fields = self.fields[hash]
    fields[#fields + 1] = field
    was = 0
  end
  sums[field] = was + by
end

function Tally:write(made)
  for _, hash in ipairs(self.hashes) do
    local sums, created = self.sums[hash], false
    for _, field in ipairs(self.fields[hash]) do
      local by = sums[field]
      if by ~= 0 and redis.call('HINCRBY', hash, field, by) == by then created = true end
    end
    if created and made then made(hash) end
  end
end
