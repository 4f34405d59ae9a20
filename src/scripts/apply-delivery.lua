--[[
  Moves a message's delivery state forward (never back) and keeps the campaign's and the fleet's funnel
  counters in step: each message is counted once, at its furthest state. The campaign also counts its
  failed messages by error code (delivery_code:<code>, "none" without one).

  KEYS  1 message         message record
        2 campaign        its campaign's counters
        3 metrics         the fleet's metrics hash
        4 archive         the change feed (includes/feed.lua)
        5 minutes         its campaign's per-minute counts (includes/delivery.lua)
  ARGV  1 status          the delivery state
        2 rank            its rank
        3 at              at (ms)
        4 errorCode       error code
        5 error           error
        6 lossStep        loss step
        7 lossSource      loss source
        8 ranks           the ranks of all states, JSON ({"sent":1,...})
        9 idFrom          where the request_id starts in the record's key, to archive the change
                          for the change feed (includes/feed.lua: > 0 always,
                          < 0 while it has a reader, 0 never)
       10 billable        '<country>:<category>' when the callback's pricing says billable, else ''
  Reply {1 applied | 0 not further than the current state | -1 no such message, the state before ('' none)}
]]
--- @include "includes/message-record"
--- @include "includes/delivery"

local verdict, previous = Delivery.apply(KEYS[1], KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[9]), cjson.decode(ARGV[8]),
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], KEYS[5], ARGV[10])
return { verdict, previous }
