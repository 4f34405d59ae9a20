--[[
  Records new messages as pending in the ledger and adds each one's send job in the same script, so that a
  message is never in the ledger without its job, nor the other way round.

  All messages of a call are of one sender lane: the lane is registered (workers follow the registry), and
  a lane's queue created while the whole fleet is paused starts paused. A message to a suppressed number
  (an opt-out) is neither recorded nor enqueued. The campaign's control settings are kept in its hash.

  KEYS  1 campaign        campaign counters
        2 campaignIds     campaign's request_id list
        3 campaigns       campaign index
        4 wait            the lane's send queue (BullMQ's keys): its wait list,
        5 meta            meta hash,
        6 id              id counter,
        7 events          events stream,
        8 marker          marker,
        9 active          active list,
       10 prioritized     prioritized set
       11 pc              and priority counter
       12 lanes           the lane registry
       13 control         the fleet's control hash
       14 suppressed      suppressed numbers
        then per message:
       +1 messageKey      message record
       +2 jobKey          its job hash
  ARGV  1 ttlSeconds      ttl (s)
        2 now             now (ms)
        3 campaign        the campaign
        4 dryRun          dry run ('1': write nothing)
        5 jobName         the job name
        6 optionsHead     the job options' JSON before the job id
        7 optionsTail     and after it
        8 lane            the lane
        9 placement       'fifo', 'lifo' (high priority) or a priority number (low)
       10 settings        the campaign's settings, JSON of field -> value for its hash ('{}': none)
        then per message:
       +1 requestId       its request_id
       +2 to              recipient
       +3 jobId           job id
       +4 data            job data JSON
       +5 digest          its payload's digest (src/ledger/digest.ts)
       +6 args            its custom_args as JSON, kept for its events ('': none)
  Reply per message: 0 new, 1 duplicate, 2 pending without a job (its job is added again, and the record
  takes its recipient and digest), 3 suppressed, or its request_id already names another message: 4 of
  another campaign, 5 to another recipient, 6 with other content (its digest differs; a record no longer
  holds one once its message is sent or skipped, and is then compared by campaign and recipient only).
  Only the same message again is a duplicate, so that running an enqueue twice stays harmless and a reused
  request_id never loses a message quietly. Messages of one call are compared with each other the same way.
]]
--- @include "includes/message-record"
--- @include "includes/bullmq-job"

local ttl = tonumber(ARGV[1])
local now = ARGV[2]
local campaign = ARGV[3]
local dry = ARGV[4] == '1'
local name = ARGV[5]
local q = { wait = KEYS[4], meta = KEYS[5], id = KEYS[6], events = KEYS[7], marker = KEYS[8], active = KEYS[9],
  prioritized = KEYS[10], pc = KEYS[11] }
local NEW, DUPLICATE, REQUEUED, SUPPRESSED = 0, 1, 2, 3
local OTHER = { campaign = 4, to = 5, payload = 6 }
local placement = ARGV[9]

local out = {}
local seen = {}
local added = 0
local jobs = 0
local maxEvents
if not dry then maxEvents = BullJob.maxEvents(q) end

local function addJob(jobKey, jobId, data)
  BullJob.add(q, maxEvents, jobKey, jobId, name, data, ARGV[6] .. cjson.encode(jobId) .. ARGV[7], now, placement)
  jobs = jobs + 1
end

if not dry and redis.call('HSETNX', KEYS[12], ARGV[8], now) == 1 and redis.call('HEXISTS', KEYS[13], 'pause_reason') == 1 then
  BullJob.pause(q)
end

for i = 1, (#KEYS - 14) / 2 do
  local msgKey = KEYS[13 + 2 * i]
  local jobKey = KEYS[14 + 2 * i]
  local a = 6 * i + 4
  local record = Message.sendState(msgKey)
  local status = record.status
  local to, digest = ARGV[a + 2], ARGV[a + 5]
  local other
  if seen[msgKey] then
    other = Message.mismatch(seen[msgKey], campaign, to, digest)
  elseif status then
    other = Message.mismatch(record, campaign, to, digest)
  end
  if redis.call('SISMEMBER', KEYS[14], ARGV[a + 2]) == 1 then
    out[i] = SUPPRESSED
  elseif other then
    out[i] = OTHER[other]
  elseif seen[msgKey] then
    out[i] = DUPLICATE
  elseif not status then
    seen[msgKey] = { status = 'pending', campaign = campaign, to = to, digest = digest }
    if not dry then
      Message.create(msgKey, campaign, ARGV[a + 2], now, ttl, redis.call('RPUSH', KEYS[2], ARGV[a + 1]), ARGV[a + 5], ARGV[a + 6])
      added = added + 1
      if redis.call('EXISTS', jobKey) == 0 then addJob(jobKey, ARGV[a + 3], ARGV[a + 4]) end
    end
    out[i] = NEW
  elseif status == 'pending' and redis.call('EXISTS', jobKey) == 0 then
    seen[msgKey] = { status = 'pending', campaign = campaign, to = to, digest = digest }
    if not dry then
      addJob(jobKey, ARGV[a + 3], ARGV[a + 4])
      redis.call('HSET', msgKey, 'to', ARGV[a + 2], 'digest', ARGV[a + 5])
    end
    out[i] = REQUEUED
  else
    out[i] = DUPLICATE
  end
end

if added > 0 then
  for field, value in pairs(cjson.decode(ARGV[10])) do redis.call('HSET', KEYS[1], field, value) end
  redis.call('HINCRBY', KEYS[1], 'total', added)
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('ZADD', KEYS[3], now, campaign)
end
if not dry then BullJob.added(q, jobs) end
return out
