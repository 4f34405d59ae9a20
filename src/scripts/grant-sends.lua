--[[
  Send grants for the head of one worker process's queue of requests, decided with Redis's clock, in order:
  1. paused: the send queue is paused (an operator, an auth failure, a notification): no request may leave;
  2. held: a 429's Retry-After or an outage cool-down is running (the hold key): ask again when it ends;
  3. half-open: after a cool-down only one probe request may go until it succeeds or fails;
  4. otherwise the GCRA (the pace key holds the theoretical arrival time TAT) grants requests while
     TAT <= now + lead + burst, each grant moving TAT on by `spacing` (workers/gate/pacing.ts has the bound).
  The first request of a message also reads its ledger record: a message already sent or dead, or one in
  flight when a worker died, takes no grant. A granted message is marked in flight, its attempt counted.
  Requests are answered in order; the answer stops at the first one that must wait.

  KEYS  1 pace (TAT)   2 hold   3 breaker   4 probe   5 send queue meta   then one message record per request
  ARGV  1 spacing (ms)   2 burst (ms)   3 probe token   4 outage threshold   5 probe ttl (ms)
        6 lead (ms: the grants are for Redis's now + lead)
        then per request, the ledger check: 0 none, 1 settled, 2 settled or in flight
  Reply {code, wait (ms), probe (1: the grant is the half-open probe), breaker failures, Redis's now (ms),
         then a verdict per request}
        code: 0 answered, 1 held for `wait` ms, 2 paused
        verdict: 'g' granted, 'w' not yet (ask again in `wait` ms), 'sent' | 'dead' | 'inflight' settled
]]
--- @include "includes/message-record"

local ANSWERED, HELD, PAUSED = 0, 1, 2
local CHECK_SETTLED, CHECK_INFLIGHT = '1', '2'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS - 5
local out = { ANSWERED, 0, 0, 0, string.format('%.3f', now) }
if redis.call('HEXISTS', KEYS[5], 'paused') == 1 then out[1] = PAUSED return out end
local hold = redis.call('PTTL', KEYS[2])
if hold > 0 then out[1] = HELD out[2] = hold return out end

local spacing = tonumber(ARGV[1])
local at = now + tonumber(ARGV[6])
local horizon = at + tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), at)
local failures = tonumber(redis.call('HGET', KEYS[3], 'failures') or '0')
local limit = n
if failures >= tonumber(ARGV[4]) then
  -- Half-open: one probe for the whole fleet, and only when the pace allows a request at all.
  if tat > horizon then
    out[2] = string.format('%.3f', tat - horizon)
    for i = 1, n do out[5 + i] = 'w' end
    return out
  end
  if not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[5]) then
    local p = redis.call('PTTL', KEYS[4])
    if p < 0 then p = 100 end
    out[1] = HELD out[2] = math.min(p, 250) out[4] = failures
    return out
  end
  out[3] = 1
  limit = 1
end
out[4] = failures

local granted = 0
local stamp = math.floor(at)
for i = 1, n do
  local key = KEYS[5 + i]
  local check = ARGV[6 + i]
  local verdict = nil
  if check == CHECK_SETTLED or check == CHECK_INFLIGHT then verdict = Message.settledState(key, check == CHECK_INFLIGHT) end
  if not verdict then
    if granted < limit and tat <= horizon then
      verdict = 'g'
      granted = granted + 1
      tat = tat + spacing
      Message.markInflight(key, stamp)
    else
      for j = i, n do out[5 + j] = 'w' end
      break
    end
  end
  out[5 + i] = verdict
end
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 60000)
end
if out[3] == 1 and granted == 0 then redis.call('DEL', KEYS[4]) out[3] = 0 end
out[2] = string.format('%.3f', math.max(0, tat - horizon))
return out
