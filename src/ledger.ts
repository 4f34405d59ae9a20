import type { Redis } from 'ioredis';
import { funnel, type DeliveryStatus } from './delivery.js';
import type { JobsOptions } from 'bullmq';
import { SEND_QUEUE, jobIdFor, keys, type DeadError, type DeadReason, type Keys, type SendJobData } from './queue.js';

/**
 * The ledger: what happened to every message, keyed by request_id, kept RESULT_TTL_DAYS.
 *
 *   {prefix}:msg:{request_id}    hash: campaign, to, status (pending|sent|dead), message_id, code,
 *                                http_status, reason, error, attempts (HTTP requests), inflight, *_at
 *   {prefix}:mid:{message_id}    request_id (the reverse index delivery callbacks need)
 *   {prefix}:campaign:{id}       hash: total, sent, dead
 *   {prefix}:campaign:{id}:ids   list of request_ids, in enqueue order (export)
 *
 * The in-flight mark and the attempts count are written by the send gate's scripts
 * (workers/send-gate.ts) as a request's send grant is given, in the same round trip.
 *
 * Status only moves pending → sent or pending → dead (and dead → pending on replay); a sent message is
 * never changed again. Transitions and counters change together in one Lua script.
 */

export type MessageStatus = 'pending' | 'sent' | 'dead';

/** The `result` / `export` JSON shape of PRODUCT.md. */
export interface MessageRecord {
  request_id: string;
  campaign: string;
  to: string;
  status: MessageStatus;
  message_id: string | null;
  error: DeadError | null;
  attempts: number;
  updated_at: string;
  /** From EngageLab's status callbacks; null until the first one. */
  delivery: { status: DeliveryStatus; at: string; error_code: number | null } | null;
}

export interface CampaignCounts {
  id: string;
  total: number;
  sent: number;
  dead: number;
  pending: number;
  /** The delivery funnel from callbacks: each sent message counted at its furthest state. */
  delivery: { sent: number; delivered: number; read: number; failed: number };
}

export const ClaimResult = {
  New: 0,
  Duplicate: 1,
  /** In the ledger as pending but its job is gone (e.g. Redis restored from an older snapshot): enqueued again. */
  Requeue: 2,
} as const;
export type ClaimResult = (typeof ClaimResult)[keyof typeof ClaimResult];

// Records new messages as pending in the ledger and adds each one's send job in the same script, so a message is never in the ledger without its job or the other way round.
// The job is written as BullMQ 6's addStandardJob writes a FIFO job with a custom id and no parent, delay,
// priority or deduplication: the job hash, the 'added' and 'waiting' events, the wait list, the id counter
// and the marker that wakes blocked workers (test/integration/bullmq-contract.test.ts compares the two).
// KEYS: campaign, campaign ids, campaigns, send wait, meta, id, events, marker, active, then per message:
//       msg, job
// ARGV: ttl, now, campaign, dry run (1: write nothing), job name, job opts JSON before and after the job id,
//       then per message: request_id, to, job id, job data JSON
// Returns per message: 0 new, 1 duplicate, 2 pending without a job (its job is added again)
const CLAIM = `
local rcall = redis.call
local ttl = tonumber(ARGV[1])
local now = ARGV[2]
local campaign = ARGV[3]
local dry = ARGV[4] == '1'
local name = ARGV[5]
local out = {}
local seen = {}
local added = 0
local jobs = 0
local maxEvents
if not dry then
  maxEvents = rcall('HGET', KEYS[5], 'opts.maxLenEvents')
  if not maxEvents then
    maxEvents = 10000
    rcall('HSET', KEYS[5], 'opts.maxLenEvents', maxEvents)
  end
end
local function addJob(jobKey, jobId, data)
  rcall('HSET', jobKey, 'name', name, 'data', data, 'opts', ARGV[6] .. cjson.encode(jobId) .. ARGV[7],
    'timestamp', now, 'delay', 0, 'priority', 0)
  rcall('XADD', KEYS[7], '*', 'event', 'added', 'jobId', jobId, 'name', name)
  rcall('LPUSH', KEYS[4], jobId)
  rcall('XADD', KEYS[7], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
  jobs = jobs + 1
end
local n = (#KEYS - 9) / 2
for i = 1, n do
  local msgKey = KEYS[8 + 2 * i]
  local jobKey = KEYS[9 + 2 * i]
  local a = 4 * i
  local status = rcall('HGET', msgKey, 'status')
  if seen[msgKey] then
    out[i] = 1
  elseif not status then
    seen[msgKey] = true
    if not dry then
      rcall('HSET', msgKey, 'campaign', campaign, 'to', ARGV[a + 5], 'status', 'pending',
        'attempts', 0, 'created_at', now, 'updated_at', now)
      rcall('EXPIRE', msgKey, ttl)
      rcall('RPUSH', KEYS[2], ARGV[a + 4])
      added = added + 1
      if rcall('EXISTS', jobKey) == 0 then addJob(jobKey, ARGV[a + 6], ARGV[a + 7]) end
    end
    out[i] = 0
  elseif status == 'pending' and rcall('EXISTS', jobKey) == 0 then
    seen[msgKey] = true
    if not dry then addJob(jobKey, ARGV[a + 6], ARGV[a + 7]) end
    out[i] = 2
  else
    out[i] = 1
  end
end
if added > 0 then
  rcall('HINCRBY', KEYS[1], 'total', added)
  rcall('EXPIRE', KEYS[1], ttl)
  rcall('EXPIRE', KEYS[2], ttl)
  rcall('ZADD', KEYS[3], now, campaign)
end
if jobs > 0 then
  rcall('INCRBY', KEYS[6], jobs)
  local meta = rcall('HMGET', KEYS[5], 'paused', 'concurrency')
  if not meta[1] and not (meta[2] and rcall('LLEN', KEYS[9]) >= tonumber(meta[2])) then
    rcall('ZADD', KEYS[8], 0, '0')
  end
end
return out
`;

// Settles messages, several in one call (results finishing in the same turn of a worker's event loop).
// Per message, 4 KEYS: msg, campaign, mid (sent), delivery rows that arrived before the message_id;
// and 9 ARGV: status, now, ttl, request_id, message_id, code, http_status, reason, error.
// Returns per message: 0 unchanged, 1 changed, 2 changed and delivery rows are waiting for it.
const FINISH = `
local out = {}
for i = 0, #KEYS / 4 - 1 do
  local msg, campaign, mid, orphan = KEYS[i * 4 + 1], KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
  local a = i * 9
  local status, ttl = ARGV[a + 1], tonumber(ARGV[a + 3])
  local current = redis.call('HGET', msg, 'status')
  local result = 1
  redis.call('HDEL', msg, 'inflight')
  if current == 'sent' or current == status then
    result = 0
  else
    if status == 'sent' then
      redis.call('HSET', msg, 'status', status, 'updated_at', ARGV[a + 2], 'message_id', ARGV[a + 5])
      -- a dead letter's error (replay clears it; a job that ran again while dead did not)
      if current == 'dead' then redis.call('HDEL', msg, 'code', 'http_status', 'reason', 'error') end
      redis.call('SET', mid, ARGV[a + 4], 'EX', ttl)
      redis.call('HINCRBY', campaign, 'sent', 1)
      if redis.call('EXISTS', orphan) == 1 then result = 2 end
    else
      redis.call('HSET', msg, 'status', status, 'updated_at', ARGV[a + 2], 'code', ARGV[a + 6], 'http_status', ARGV[a + 7], 'reason', ARGV[a + 8], 'error', ARGV[a + 9])
      redis.call('HINCRBY', campaign, 'dead', 1)
    end
    if current == 'dead' then redis.call('HINCRBY', campaign, 'dead', -1) end
    redis.call('EXPIRE', msg, ttl)
  end
  out[i + 1] = result
end
return out
`;

// KEYS: msg, campaign | ARGV: now
const REVIVE = `
if redis.call('HGET', KEYS[1], 'status') ~= 'dead' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'pending', 'updated_at', ARGV[1])
redis.call('HDEL', KEYS[1], 'code', 'http_status', 'reason', 'error', 'inflight')
redis.call('HINCRBY', KEYS[2], 'dead', -1)
return 1
`;

interface LedgerCommands {
  waClaim(...args: Array<string | number>): Promise<number[]>;
  waFinish(...args: Array<string | number>): Promise<number[]>;
  waRevive(...args: Array<string | number>): Promise<number>;
}

const defined = new WeakSet<Redis>();
function commands(client: Redis): Redis & LedgerCommands {
  if (!defined.has(client)) {
    client.defineCommand('waClaim', { lua: CLAIM });
    client.defineCommand('waFinish', { lua: FINISH });
    client.defineCommand('waRevive', { numberOfKeys: 2, lua: REVIVE });
    defined.add(client);
  }
  return client as Redis & LedgerCommands;
}

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

export function toRecord(requestId: string, hash: Record<string, string>): MessageRecord {
  const status = (hash.status ?? 'pending') as MessageStatus;
  return {
    request_id: requestId,
    campaign: hash.campaign ?? '',
    to: hash.to ?? '',
    status,
    message_id: hash.message_id ?? null,
    error:
      status === 'dead'
        ? { code: num(hash.code), http_status: num(hash.http_status), reason: (hash.reason ?? 'permanent') as DeadReason, message: hash.error ?? '' }
        : null,
    attempts: Number(hash.attempts ?? 0),
    updated_at: new Date(Number(hash.updated_at ?? hash.created_at ?? 0)).toISOString(),
    delivery: hash.delivery_status
      ? { status: hash.delivery_status as DeliveryStatus, at: new Date(Number(hash.delivery_at ?? 0)).toISOString(), error_code: num(hash.delivery_error_code) }
      : null,
  };
}

interface PendingFinish {
  keys: string[];
  args: Array<string | number>;
  resolve(changed: number): void;
  reject(error: Error): void;
}

export class Ledger {
  readonly keys: Keys;
  private readonly client: Redis & LedgerCommands;
  private sentBatch: PendingFinish[] = [];

  constructor(
    client: Redis,
    prefix: string,
    private readonly ttlDays: number,
  ) {
    this.client = commands(client);
    this.keys = keys(prefix);
  }

  get ttlSeconds(): number {
    return this.ttlDays * 86_400;
  }

  /**
   * Records new messages as pending and adds their send jobs, in one script: the enqueue path. Tells for
   * each message whether it is new, a duplicate, or pending without a job (lost with a Redis restored from
   * an older snapshot), which gets its job again. Only options BullMQ stores unchanged may be given
   * (attempts, backoff, removeOn*).
   */
  async enqueue(
    campaign: string,
    items: ReadonlyArray<{ requestId: string; to: string; data: SendJobData }>,
    job: { name: string; options: JobsOptions },
    dryRun = false,
  ): Promise<ClaimResult[]> {
    if (items.length === 0) return [];
    const k = this.keys;
    const keyList = [
      k.campaign(campaign), k.campaignIds(campaign), k.campaigns,
      k.bull(SEND_QUEUE, 'wait'), k.bull(SEND_QUEUE, 'meta'), k.bull(SEND_QUEUE, 'id'), k.bull(SEND_QUEUE, 'events'), k.bull(SEND_QUEUE, 'marker'), k.bull(SEND_QUEUE, 'active'),
    ];
    // BullMQ stores a job's options as JSON; ours are the same for every job but its id.
    const opts = JSON.stringify({ ...job.options, jobId: '' });
    const at = opts.lastIndexOf('""');
    const argv: Array<string | number> = [this.ttlSeconds, Date.now(), campaign, dryRun ? 1 : 0, job.name, opts.slice(0, at), opts.slice(at + 2)];
    for (const item of items) {
      const jobId = jobIdFor(item.requestId);
      keyList.push(k.message(item.requestId), k.bullJob(SEND_QUEUE, jobId));
      argv.push(item.requestId, item.to, jobId, dryRun ? '' : JSON.stringify(item.data));
    }
    return (await this.client.waClaim(keyList.length, ...keyList, ...argv)) as ClaimResult[];
  }

  /** Remembers the templates being sent, so a template_update notification knows whether it matters. */
  async noteTemplates(bodies: ReadonlyArray<{ type: string; template?: { name: string; language: string } }>): Promise<void> {
    const names = new Set<string>();
    for (const body of bodies) if (body.type === 'template' && body.template) names.add(body.template.name).add(`${body.template.name}:${body.template.language}`);
    if (names.size === 0) return;
    await this.client.multi().sadd(this.keys.templates, ...names).expire(this.keys.templates, this.ttlSeconds).exec();
  }

  async templateInUse(name: string, language: string | undefined): Promise<boolean> {
    return (await this.client.sismember(this.keys.templates, language ? `${name}:${language}` : name)) === 1;
  }

  async get(requestId: string): Promise<MessageRecord | undefined> {
    const hash = await this.client.hgetall(this.keys.message(requestId));
    return hash.status ? toRecord(requestId, hash) : undefined;
  }

  /** After an answer that proves the request was not accepted (a 5xx, a refused connection). */
  async clearInflight(requestId: string): Promise<void> {
    await this.client.hdel(this.keys.message(requestId), 'inflight');
  }

  /**
   * Returns 'orphans' when delivery callbacks for this message_id arrived first (apply them now). Calls made
   * in the same turn of the event loop share one script call (one round trip, one script run in Redis).
   */
  markSent(requestId: string, campaign: string, messageId: string): Promise<'changed' | 'unchanged' | 'orphans'> {
    const k = this.keys;
    return new Promise((resolve, reject) => {
      this.sentBatch.push({
        keys: [k.message(requestId), k.campaign(campaign), k.messageId(messageId), k.orphan(messageId)],
        args: ['sent', Date.now(), this.ttlSeconds, requestId, messageId, '', '', '', ''],
        resolve: (changed) => resolve(changed === 2 ? 'orphans' : changed === 1 ? 'changed' : 'unchanged'),
        reject,
      });
      if (this.sentBatch.length === 1) setImmediate(() => this.flushSent());
    });
  }

  private flushSent(): void {
    const batch = this.sentBatch;
    this.sentBatch = [];
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const item of batch) {
      keys.push(...item.keys);
      args.push(...item.args);
    }
    this.client.waFinish(keys.length, ...keys, ...args).then(
      (results) => batch.forEach((item, i) => item.resolve(results[i] ?? 0)),
      (error: Error) => batch.forEach((item) => item.reject(error)),
    );
  }

  async markDead(requestId: string, campaign: string, error: DeadError): Promise<boolean> {
    const k = this.keys;
    const [changed] = await this.client.waFinish(
      4, k.message(requestId), k.campaign(campaign), k.messageId('-'), k.orphan('-'),
      'dead', Date.now(), this.ttlSeconds, requestId, '',
      error.code ?? '', error.http_status ?? '', error.reason, error.message.slice(0, 1000),
    );
    return changed === 1;
  }

  /** dead → pending, for `dlq replay`. */
  async revive(requestId: string, campaign: string): Promise<boolean> {
    return (await this.client.waRevive(this.keys.message(requestId), this.keys.campaign(campaign), Date.now())) === 1;
  }

  async requestIdOf(messageId: string): Promise<string | undefined> {
    return (await this.client.get(this.keys.messageId(messageId))) ?? undefined;
  }

  async campaign(id: string): Promise<CampaignCounts | undefined> {
    const hash = await this.client.hgetall(this.keys.campaign(id));
    if (!hash.total) return undefined;
    const total = Number(hash.total);
    const sent = Number(hash.sent ?? 0);
    const dead = Number(hash.dead ?? 0);
    return { id, total, sent, dead, pending: total - sent - dead, delivery: funnel(hash, sent) };
  }

  /**
   * Every campaign the ledger still holds, newest enqueue first, read in pages. A campaign whose counters
   * have expired (RESULT_TTL_DAYS after its last enqueue) is dropped from the index as it is met.
   */
  async *campaigns(pageSize = 200): AsyncGenerator<CampaignCounts & { enqueued_at: string }> {
    for (let start = 0; ; start += pageSize) {
      const page = await this.client.zrevrange(this.keys.campaigns, start, start + pageSize - 1, 'WITHSCORES');
      if (page.length === 0) return;
      const gone: string[] = [];
      for (let i = 0; i < page.length; i += 2) {
        const id = page[i] as string;
        const counts = await this.campaign(id);
        if (counts) yield { ...counts, enqueued_at: new Date(Number(page[i + 1])).toISOString() };
        else gone.push(id);
      }
      if (gone.length > 0) {
        await this.client.zrem(this.keys.campaigns, ...gone);
        start -= gone.length;
      }
      if (page.length < pageSize * 2) return;
    }
  }

  /** Every message of a campaign in enqueue order, read in pages so memory stays flat. */
  async *export(campaign: string, pageSize = 1000): AsyncGenerator<MessageRecord> {
    const listKey = this.keys.campaignIds(campaign);
    for (let start = 0; ; start += pageSize) {
      const ids = await this.client.lrange(listKey, start, start + pageSize - 1);
      if (ids.length === 0) return;
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.message(id));
      const results = (await pipeline.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        const hash = results[i]?.[1] as Record<string, string> | undefined;
        if (hash?.status) yield toRecord(ids[i] as string, hash);
      }
      if (ids.length < pageSize) return;
    }
  }
}

