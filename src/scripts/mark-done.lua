--[[
  Marks a finished campaign reported (done_at), once: the first call only, which also appends campaign.done
  to the change feed (includes/feed.lua) with the campaign's figures, in the same step.

  KEYS  1 campaign        the campaign's hash
        2 archive         the change feed
  ARGV  1 now             now (ms)
        2 id              the campaign's id
        3 data            campaign.done's data (JSON; '': marked without an event)
  Reply 1 marked now, 0 marked before
]]
--- @include "includes/feed"

if redis.call('HSETNX', KEYS[1], 'done_at', ARGV[1]) == 0 then return 0 end
if ARGV[3] ~= '' then Feed.append(KEYS[2], -1, 'campaign.done', ARGV[2], ARGV[3]) end
return 1
