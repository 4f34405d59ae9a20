import { describe, expect, it } from '@jest/globals';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import { BODIES } from '../fixtures/messages.js';
import { addPending, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const DAY_MS = 86_400_000;

describe('housekeeping', () => {
  it('a worker removes dead letters and campaign index entries older than RESULT_TTL_DAYS, and keeps the rest', async () => {
    const { h } = await stack.start({ config: { RESULT_TTL_DAYS: 30 } });
    await addPending(h, 'fresh', ['fresh-1']);
    const error = { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' } as const;
    await deadLetter(
      h.dead,
      h.ledger,
      { request_id: 'fresh-1', campaign: 'fresh', payload: { to: ['447911123456'], body: BODIES.text as never } },
      error,
      1,
    );
    // A dead letter written 31 days ago (its ledger record has expired since) and a campaign last enqueued then.
    const old = Date.now() - 31 * DAY_MS;
    await h.dead.add(
      'dead',
      {
        request_id: 'old-1',
        campaign: 'gone',
        payload: { to: ['447911123456'], body: BODIES.text as never },
        error,
        attempts: 1,
        died_at: old,
      },
      { jobId: 'old-1', timestamp: old },
    );
    await h.redis.zadd(h.keys.campaigns, String(old), 'gone');
    expect(await h.dead.getWaitingCount()).toBe(2);

    await stack.startWorker();
    await until(async () => (await h.dead.getWaitingCount()) === 1);
    expect((await h.dead.getJobs(['wait'])).map((job) => job.id)).toEqual(['fresh-1']);
    expect(await h.redis.zrange(h.keys.campaigns, '0', '-1')).toEqual(['fresh']);
  });
});
