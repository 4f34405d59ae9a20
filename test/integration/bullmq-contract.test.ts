import { describe, expect, it } from '@jest/globals';
import { Queue, Worker, type Job } from 'bullmq';
import { pauseSending, resumeSending } from '../../src/lanes/fleet.js';
import { laneQueueName } from '../../src/queue.js';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { SEND_QUEUE, jobIdFor, type SendJobData } from '../../src/queue.js';
import { workerConnection } from '../../src/redis/connection.js';
import { campaignDone, testConfig, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, phone } from '../fixtures/messages.js';

/**
 * The enqueue script writes send jobs itself (with the ledger entry, in one script) the way BullMQ's
 * addStandardJob does. These tests hold it to BullMQ's own output, so a BullMQ upgrade that changes the
 * job layout fails here, and check that a BullMQ worker takes such jobs like any other.
 */

const stack = useStack();

const data = (requestId: string): SendJobData => ({
  request_id: requestId,
  campaign: 'contract',
  payload: { to: ['447911123456'], body: BODIES.text as never, request_id: requestId },
});

/** Stream events of one job, without their ids and times. */
async function eventsOf(harnessed: Harness, jobId: string): Promise<string[][]> {
  const entries = await harnessed.redis.xrange(harnessed.keys.bull(SEND_QUEUE, 'events'), '-', '+');
  return entries.map(([, fields]) => fields).filter((fields) => fields[fields.indexOf('jobId') + 1] === jobId);
}

describe('send jobs written by the enqueue script', () => {
  it('run on the BullMQ release package.json pins (a range would let a minor release change the layout)', () => {
    const pinned = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies.bullmq;
    const installed = (
      JSON.parse(readFileSync(new URL('../../node_modules/bullmq/package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('are stored as BullMQ stores a job added with queue.add', async () => {
    const config = testConfig({ SEND_ATTEMPTS: 4, SEND_BACKOFF_MS: 1234 });
    const harnessed = stack.harness(config);
    await harnessed.send.add('send', data('by-bullmq'), { jobId: 'by-bullmq' });
    const result = await harnessed.ledger.enqueue(
      'contract',
      'default',
      [{ requestId: 'by-script', to: '447911123456', data: data('by-script') }],
      { name: 'send', options: harnessed.send.defaultJobOptions },
    );
    expect(result).toEqual([0]);

    const ours = await harnessed.redis.hgetall(harnessed.keys.bullJob(SEND_QUEUE, 'by-script'));
    const theirs = await harnessed.redis.hgetall(harnessed.keys.bullJob(SEND_QUEUE, 'by-bullmq'));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(JSON.parse(ours.opts ?? '')).toEqual({ ...JSON.parse(theirs.opts ?? ''), jobId: 'by-script' });
    expect(JSON.parse(ours.data ?? '')).toEqual(data('by-script'));
    expect({ name: ours.name, delay: ours.delay, priority: ours.priority }).toEqual({
      name: theirs.name,
      delay: theirs.delay,
      priority: theirs.priority,
    });
    expect(Math.abs(Number(ours.timestamp) - Number(theirs.timestamp))).toBeLessThan(5000);

    expect(await harnessed.redis.lrange(harnessed.keys.bull(SEND_QUEUE, 'wait'), 0, -1)).toEqual([
      'by-script',
      'by-bullmq',
    ]);
    expect(await harnessed.redis.get(harnessed.keys.bull(SEND_QUEUE, 'id'))).toBe('2');
    expect(await harnessed.redis.zrange(harnessed.keys.bull(SEND_QUEUE, 'marker'), '0', '-1')).toEqual(['0']);
    const [ourEvents, theirEvents] = [await eventsOf(harnessed, 'by-script'), await eventsOf(harnessed, 'by-bullmq')];
    expect(ourEvents.map((fields) => fields.join(' ').replace('by-script', 'ID'))).toEqual(
      theirEvents.map((fields) => fields.join(' ').replace('by-bullmq', 'ID')),
    );

    // What BullMQ reads back is the same job.
    const job = await harnessed.send.getJob('by-script');
    expect(job?.data).toEqual(data('by-script'));
    expect(job?.opts).toMatchObject({
      attempts: 4,
      backoff: { type: 'exponential', delay: 1234 },
      removeOnComplete: true,
      removeOnFail: true,
      jobId: 'by-script',
    });
    expect(await harnessed.send.getJobCounts('wait')).toEqual({ wait: 2 });
  });

  it('are taken by a BullMQ worker, also when added while the queue is paused (no marker until resumed)', async () => {
    const config = testConfig();
    const harnessed = stack.harness(config);
    await harnessed.send.pause();
    await harnessed.ledger.enqueue(
      'contract',
      'default',
      [{ requestId: 'paused-1', to: '447911123456', data: data('paused-1') }],
      { name: 'send', options: harnessed.send.defaultJobOptions },
    );
    expect(await harnessed.redis.zcard(harnessed.keys.bull(SEND_QUEUE, 'marker'))).toBe(0);
    const seen: Array<[string | undefined, string, number]> = [];
    const connection = workerConnection(config);
    const worker = new Worker<SendJobData>(
      SEND_QUEUE,
      async (job: Job<SendJobData>) => void seen.push([job.id, job.data.request_id, job.attemptsMade]),
      { connection, prefix: config.QUEUE_PREFIX },
    );
    stack.defer(async () => {
      await worker.close();
      connection.disconnect();
    });
    const completed = new Promise<void>((resolve) => worker.once('completed', () => resolve()));
    await harnessed.send.resume();
    await completed;
    expect(seen).toEqual([['paused-1', 'paused-1', 0]]);
    // removeOnComplete: nothing of the job is left.
    expect(await harnessed.redis.exists(harnessed.keys.bullJob(SEND_QUEUE, 'paused-1'))).toBe(0);
  });

  it("start a new sender lane's queue paused while the whole fleet is paused, as BullMQ's own pause leaves it", async () => {
    const config = testConfig();
    const harnessed = stack.harness(config);
    await pauseSending(harnessed.redis, harnessed.keys, 'operator');
    const lane = '8613800138009';
    await harnessed.ledger.enqueue(
      'contract',
      lane,
      [{ requestId: 'lane-1', to: '447911123456', data: data('lane-1') }],
      { name: 'send', options: harnessed.send.defaultJobOptions },
    );
    const queue = new Queue<SendJobData>(laneQueueName(lane), {
      connection: harnessed.redis,
      prefix: config.QUEUE_PREFIX,
    });
    stack.defer(() => queue.close());
    expect(await queue.isPaused()).toBe(true);
    expect(await harnessed.redis.zcard(harnessed.keys.bull(laneQueueName(lane), 'marker'))).toBe(0);
    const seen: string[] = [];
    const connection = workerConnection(config);
    const worker = new Worker<SendJobData>(
      laneQueueName(lane),
      async (job: Job<SendJobData>) => void seen.push(job.data.request_id),
      { connection, prefix: config.QUEUE_PREFIX },
    );
    stack.defer(async () => {
      await worker.close();
      connection.disconnect();
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    const completed = new Promise<void>((resolve) => worker.once('completed', () => resolve()));
    await resumeSending(harnessed.redis, harnessed.keys);
    await completed;
    expect(seen).toEqual(['lane-1']);
  });

  it('takes request_ids BullMQ refuses as job ids or that name its own keys, and sends each once', async () => {
    const ids = ['12345', 'meta', 'wait', 'events', 'a:b', 'x:y:z', 'plain-1'];
    expect(new Set(ids.map(jobIdFor)).size).toBe(ids.length);
    expect(jobIdFor('plain-1')).toBe('plain-1');
    const { sim, h: harnessed } = await stack.start({ simulator: {} });
    const lines = ids.map((id, i) => JSON.stringify({ to: phone(i), body: BODIES.text, request_id: id })).join('\n');
    const summary = await enqueue(readJsonl(Readable.from([lines])), {
      campaign: 'ids',
      ledger: harnessed.ledger,
      queue: harnessed.send,
    });
    expect(summary).toMatchObject({ accepted: ids.length, rejected: 0, duplicates: 0 });
    // The queue's own keys are untouched: meta is still BullMQ's hash, events still a stream.
    expect(await harnessed.redis.type(harnessed.keys.bull(SEND_QUEUE, 'meta'))).toBe('hash');
    expect(await harnessed.redis.hget(harnessed.keys.bull(SEND_QUEUE, 'meta'), 'name')).toBeNull();
    expect(await harnessed.redis.type(harnessed.keys.bull(SEND_QUEUE, 'events'))).toBe('stream');

    await stack.startWorker();
    await campaignDone(harnessed.ledger, 'ids', 20_000);
    for (const id of ids) expect(await harnessed.ledger.get(id)).toMatchObject({ request_id: id, status: 'sent' });
    expect(sim.getStats()).toMatchObject({ accepted: ids.length, duplicates: 0 });
    // Enqueued again: every one a duplicate.
    const again = await enqueue(readJsonl(Readable.from([lines])), {
      campaign: 'ids',
      ledger: harnessed.ledger,
      queue: harnessed.send,
    });
    expect(again).toMatchObject({ accepted: 0, duplicates: ids.length });
  });
});
