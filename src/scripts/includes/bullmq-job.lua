--[[
  A send job written the way BullMQ 6.7's addStandardJob writes a FIFO job with a custom id and no parent,
  delay, priority or deduplication: the job hash, the 'added' and 'waiting' events (the latter trimmed to
  the queue's maxLenEvents), the wait list, the id counter and the marker that wakes blocked workers.
  test/integration/bullmq-contract.test.ts compares it field by field with Queue.add and runs it through a
  real Worker, so a BullMQ release that changes this layout fails a test (package.json pins BullMQ).

  q: { wait, meta, id, events, marker, active } keys of the queue.
]]
local BullJob = {}

-- The queue's maxLenEvents, written with BullMQ's default when the queue has none yet.
function BullJob.maxEvents(q)
  local max = redis.call('HGET', q.meta, 'opts.maxLenEvents')
  if not max then
    max = 10000
    redis.call('HSET', q.meta, 'opts.maxLenEvents', max)
  end
  return max
end

function BullJob.add(q, maxEvents, jobKey, jobId, name, data, opts, now)
  redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', now, 'delay', 0, 'priority', 0)
  redis.call('XADD', q.events, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  redis.call('LPUSH', q.wait, jobId)
  redis.call('XADD', q.events, 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
end

-- Paused as BullMQ's Queue.pause() leaves a queue (its meta flag, no marker).
function BullJob.pause(q)
  redis.call('HSET', q.meta, 'paused', 1)
  redis.call('DEL', q.marker)
end

-- After `count` jobs were added: the id counter, and the marker unless the queue is paused or at its
-- global concurrency.
function BullJob.added(q, count)
  if count == 0 then return end
  redis.call('INCRBY', q.id, count)
  local meta = redis.call('HMGET', q.meta, 'paused', 'concurrency')
  if not meta[1] and not (meta[2] and redis.call('LLEN', q.active) >= tonumber(meta[2])) then
    redis.call('ZADD', q.marker, 0, '0')
  end
end
