import type { Redis } from 'ioredis';
import { laneNames } from '../lanes/lanes.js';
import type { Ledger, MessageRecord } from '../ledger/ledger.js';
import { jobIdFor, laneQueueName, withQueue } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import { RemoveVerdict } from '../scripts/index.js';
import { addSkipped } from '../status/fleet-stats.js';

/**
 * `wa-bulk remove` and POST /api/messages/:request_id/remove: one message taken back before it is sent, the
 * ledger-aware counterpart of Bull Board's remove (which would leave the message pending for ever). It ends
 * `skipped`, reason `removed`, and its campaign's counters say so. Only a message no request is on the wire
 * for may go: waiting, delayed (a send window, --at, a pair interval, the messaging limit, a retry's backoff),
 * parked (its campaign paused), or held by a worker before its first request (which then ends without one).
 * A message sent, dead, skipped, in flight or held by a worker between two attempts is refused, by name.
 */

/** Why a message was not removed: its ledger status, or where its request stands. */
export type RemoveRefusal = 'unknown' | 'sent' | 'dead' | 'skipped' | 'in_flight' | 'retrying';

export type RemoveOutcome =
  { removed: true; record: MessageRecord } | { removed: false; state: RemoveRefusal; error: string };

function refusal(requestId: string, state: RemoveRefusal): RemoveOutcome {
  const words: Record<RemoveRefusal, string> = {
    unknown: 'the ledger does not know it (unknown, or older than RESULT_TTL_DAYS)',
    sent: 'it is sent: EngageLab accepted it',
    dead: 'it is dead: its dead letter is in the dead-letter queue (wa-bulk dlq purge drops it)',
    skipped: 'it is skipped already',
    in_flight: 'it is in flight: a request for it may already have reached EngageLab, and its worker settles it',
    retrying: 'a worker holds it between two attempts of a retry; try again once it waits out its backoff',
  };
  return { removed: false, state, error: `message "${requestId}" not removed: ${words[state]}` };
}

const REFUSED: Partial<Record<RemoveVerdict, RemoveRefusal>> = {
  [RemoveVerdict.Missing]: 'unknown',
  [RemoveVerdict.Sent]: 'sent',
  [RemoveVerdict.Dead]: 'dead',
  [RemoveVerdict.Skipped]: 'skipped',
  [RemoveVerdict.InFlight]: 'in_flight',
  [RemoveVerdict.Requested]: 'retrying',
};

/**
 * Takes the message's job out of its lane's queue: 'removed', 'held' when a worker holds it (BullMQ removes
 * no locked job), 'none' when no queue has it (no worker can hold a job whose hash is gone).
 */
async function takeJob(redis: Redis, keys: Keys, requestId: string): Promise<'removed' | 'held' | 'none'> {
  const jobId = jobIdFor(requestId);
  for (const lane of await laneNames(redis, keys)) {
    const name = laneQueueName(lane);
    if ((await redis.exists(keys.bullJob(name, jobId))) === 0) continue;
    const removed = await withQueue(redis, keys.prefix, name, (queue) => queue.remove(jobId));
    return removed === 1 ? 'removed' : 'held';
  }
  return 'none';
}

export async function removeMessage(
  redis: Redis,
  keys: Keys,
  ledger: Ledger,
  requestId: string,
): Promise<RemoveOutcome> {
  const record = await ledger.get(requestId);
  if (!record) return refusal(requestId, 'unknown');
  if (record.status !== 'pending') return refusal(requestId, record.status);
  // The ledger first, so that a worker that takes the job meanwhile finds the message settled at its grant.
  let verdict = await ledger.skipRemoved(requestId, record.to, record.campaign, false);
  if (verdict === RemoveVerdict.Removed) {
    await takeJob(redis, keys, requestId);
  } else if (verdict === RemoveVerdict.Requested) {
    // A request was made before: only a job out of every worker's reach may go.
    if ((await takeJob(redis, keys, requestId)) !== 'held')
      verdict = await ledger.skipRemoved(requestId, record.to, record.campaign, true);
  }
  if (verdict !== RemoveVerdict.Removed) return refusal(requestId, REFUSED[verdict] ?? 'retrying');
  await addSkipped(redis, keys.metrics, 'removed', 1);
  return { removed: true, record: (await ledger.get(requestId)) ?? record };
}
