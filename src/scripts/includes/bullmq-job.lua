--[[
  A send job written the way BullMQ 6.7 writes a job with a custom id and no parent, delay or
  deduplication: addStandardJob for a FIFO job (LPUSH to the wait list) or a LIFO one (RPUSH: it is taken
  next), addPrioritizedJob for one with a priority (the prioritized set, scored by priority and the priority
  counter, taken only when the wait list is empty). Then the 'added' and 'waiting' events (the latter
  trimmed to the queue's maxLenEvents), the id counter and the marker that wakes blocked workers.
  test/integration/bullmq-contract.test.ts compares it field by field with Queue.add and runs it through a
  real Worker, so a BullMQ release that changes this layout fails a test (package.json pins BullMQ).

  q: { wait, meta, id, events, marker, active, prioritized, pc } keys of the queue.
]]
local BullJob = {}

-- The queue's maxLenEvents, written with BullMQ's default when the queue has none yet.
function BullJob.maxEvents(q)
  local max = redis.call('HGET', q.meta, 'opts.maxLenEvents')
  if not max then
    max = 1000 -- QUEUE_STREAMS in src/queue.ts
    redis.call('HSET', q.meta, 'opts.maxLenEvents', max)
  end
  return max
end

-- placement: 'fifo', 'lifo', or a priority (a number > 0)
function BullJob.add(q, maxEvents, jobKey, jobId, name, data, opts, now, placement)
  local priority = tonumber(placement) or 0
  redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', now, 'delay', 0, 'priority', priority)
  redis.call('XADD', q.events, '*', 'event', 'added', 'jobId', jobId, 'name', name)
  if priority > 0 then
    local counter = redis.call('INCR', q.pc)
    redis.call('ZADD', q.prioritized, priority * 0x100000000 + counter % 0x100000000, jobId)
  elseif placement == 'lifo' then
    redis.call('RPUSH', q.wait, jobId)
  else
    redis.call('LPUSH', q.wait, jobId)
  end
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
