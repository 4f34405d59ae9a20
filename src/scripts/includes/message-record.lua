--[[
  The ledger's message record, {prefix}:msg:{request_id}: a hash the ledger (src/ledger/ledger.ts) owns. Every
  script that reads or writes a message does it through these functions, so the fields are named here
  and, in TypeScript, in src/ledger/records.ts only (toRecord; rowOf and recordOf for the long-term ledger).

    campaign, to, created_at, updated_at (epoch ms)
    args                   the message's custom_args (JSON, without wa-bulk's own), when it had any: its
                           webhook events carry them
    digest                 the payload's digest (src/ledger/digest.ts) while the message may still be sent:
                           written with its job, dropped once it is sent or skipped
    seq                    its place in its campaign's enqueue order (1, 2, …)
    status                 pending | sent | dead | skipped (pending -> sent | dead | skipped;
                           dead -> pending on replay, dead -> sent for a job that ran again or a
                           status callback that names it: learn-message-id.lua)
    message_id             EngageLab's id, once sent
    code, http_status, reason, error      why it died or was skipped (cleared when it is replayed or sent)
    attempts               HTTP requests made for it
    inflight               epoch ms, set while a request may be on the wire (a worker that dies leaves it)
    delivery_status, delivery_at, delivery_error_code, delivery_error, loss_step, loss_source
                           the furthest delivery state EngageLab's callbacks reported
    billable_as            '<country>:<category>' from the first status callback whose pricing said billable
    billed                 '1' once it is counted billable (delivered, and priced billable: counted once)
]]
--- @include "includes/feed"

local Message = {}

function Message.create(key, campaign, to, now, ttl, seq, digest, args)
  redis.call('HSET', key, 'campaign', campaign, 'to', to, 'status', 'pending', 'attempts', 0, 'created_at', now, 'updated_at', now, 'seq', seq, 'digest', digest)
  if args and args ~= '' then redis.call('HSET', key, 'args', args) end
  redis.call('EXPIRE', key, ttl)
end

-- What a send grant's first ask needs of the record, in one read: status, inflight, campaign, to, digest
-- and attempts (each nil when absent).
function Message.sendState(key)
  local m = redis.call('HMGET', key, 'status', 'inflight', 'campaign', 'to', 'digest', 'attempts')
  return { status = m[1], inflight = m[2], campaign = m[3], to = m[4], digest = m[5], attempts = m[6] }
end

-- What of a job's data differs from its message's record (a Message.sendState): 'record' (there is none),
-- 'campaign', 'to' or 'payload' (its digest); nil when they agree. A record without a digest (written
-- before digests were kept) has its payload taken on trust.
function Message.mismatch(record, campaign, to, digest)
  if not record.status then return 'record' end
  if record.campaign ~= campaign then return 'campaign' end
  if record.to ~= to then return 'to' end
  if record.digest and record.digest ~= digest then return 'payload' end
  return nil
end

-- The record as it now is, appended to the change feed (includes/feed.lua) as `kind` (sent, dead, skipped,
-- a delivery state, …). A whole snapshot rather than a pointer, so that a reader (the archiver, the webhook
-- dispatcher) never depends on the record still being in Redis when it reads the entry.
-- `idFrom` is where the request_id starts in the record's key (after "<prefix>:msg:"): > 0 always appended,
-- < 0 (its negative) only while the feed has a reader, 0 never (Feed.wanted).
function Message.archive(stream, key, idFrom, kind)
  if not Feed.wanted(stream, idFrom) then return end
  redis.call('XADD', stream, '*', 'e', kind, 'r', string.sub(key, math.abs(idFrom)), 's', cjson.encode(redis.call('HGETALL', key)))
end

function Message.status(key)
  return redis.call('HGET', key, 'status')
end

-- A code field of the record, 'none' when it has none.
local function codeOf(key, field)
  local code = redis.call('HGET', key, field)
  if not code or code == '' then return 'none' end
  return code
end

-- The code a dead message died with ('none' without one: a timeout, a lost connection).
function Message.code(key)
  return codeOf(key, 'code')
end

function Message.campaign(key)
  return redis.call('HGET', key, 'campaign')
end

-- 'sent' or 'dead' when settled (a skipped message counts as dead: it needs no request), 'inflight' when
-- a request may be on the wire (if asked), else nil; of a Message.sendState.
function Message.settledState(record, withInflight)
  local status = record.status
  if status == 'sent' or status == 'dead' then return status end
  if status == 'skipped' then return 'dead' end
  if withInflight and record.inflight then return 'inflight' end
  return nil
end

-- Whether EngageLab may have accepted a request for the message without wa-bulk learning its message_id:
-- dead with unknown_outcome (the answer was lost), or pending after a request was granted (in flight, its
-- worker gone, or revived by a replay). Its status then, else nil.
function Message.outcomeUnknown(key)
  local m = redis.call('HMGET', key, 'status', 'reason', 'inflight', 'attempts')
  if m[1] == 'dead' and m[2] == 'unknown_outcome' then return 'dead' end
  if m[1] == 'pending' and (m[3] or tonumber(m[4] or '0') > 0) then return 'pending' end
  return nil
end

-- A send grant: the request may leave now.
-- `record`: its Message.sendState read in the same script, when there is one (one write instead of two).
function Message.markInflight(key, stamp, record)
  if record then
    redis.call('HSET', key, 'inflight', stamp, 'attempts', (tonumber(record.attempts) or 0) + 1)
  else
    redis.call('HSET', key, 'inflight', stamp)
    redis.call('HINCRBY', key, 'attempts', 1)
  end
end

-- A grant given again later (regrant-sends.lua): in flight from then, the same attempt.
function Message.stampInflight(key, stamp)
  redis.call('HSET', key, 'inflight', stamp)
end

-- A grant handed back unused: not in flight, and the attempt is not spent. Once: a hand-back asked again (its
-- first reply lost) finds no in-flight mark and leaves the attempts as they are.
function Message.unmarkInflight(key)
  if redis.call('HDEL', key, 'inflight') == 1 then redis.call('HINCRBY', key, 'attempts', -1) end
end

-- The request is known not to have been accepted (or has been settled).
function Message.clearInflight(key)
  redis.call('HDEL', key, 'inflight')
end

local ERROR_FIELDS = { 'code', 'http_status', 'reason', 'error' }

function Message.markSent(key, now, messageId, wasDead)
  redis.call('HSET', key, 'status', 'sent', 'updated_at', now, 'message_id', messageId)
  -- Nothing is sent for it again: no longer in flight, and its digest is no longer needed (a settled record
  -- stays small).
  redis.call('HDEL', key, 'inflight', 'digest')
  -- A dead letter's error goes (replay clears it; a job that ran again while dead did not).
  if wasDead then redis.call('HDEL', key, unpack(ERROR_FIELDS)) end
end

-- status 'dead' or 'skipped'
-- A dead message keeps its digest: a replay sends its dead letter's payload, which must still match.
function Message.markSettled(key, status, now, code, httpStatus, reason, message)
  redis.call('HSET', key, 'status', status, 'updated_at', now, 'code', code, 'http_status', httpStatus, 'reason', reason, 'error', message)
  if status == 'skipped' then redis.call('HDEL', key, 'digest') end
end

function Message.revive(key, now)
  redis.call('HSET', key, 'status', 'pending', 'updated_at', now)
  redis.call('HDEL', key, 'inflight', unpack(ERROR_FIELDS))
end

-- In one read: its campaign (nil: no such message), its delivery state, its billable pricing, whether it is
-- counted billable.
function Message.deliveryView(key)
  local m = redis.call('HMGET', key, 'campaign', 'delivery_status', 'billable_as', 'billed')
  return m[1] or nil, m[2] or nil, m[3] or nil, m[4] == '1'
end

function Message.setBillableAs(key, billable)
  redis.call('HSET', key, 'billable_as', billable)
end

function Message.markBilled(key)
  redis.call('HSET', key, 'billed', '1')
end

-- The error code of a failed delivery ('none' without one).
function Message.deliveryErrorCode(key)
  return codeOf(key, 'delivery_error_code')
end

function Message.setDelivery(key, status, at, code, message, lossStep, lossSource)
  redis.call('HSET', key, 'delivery_status', status, 'delivery_at', at)
  if status == 'failed' then
    redis.call('HSET', key, 'delivery_error_code', code, 'delivery_error', message, 'loss_step', lossStep, 'loss_source', lossSource)
  else
    redis.call('HDEL', key, 'delivery_error_code', 'delivery_error', 'loss_step', 'loss_source')
  end
end
