import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { Dashboard } from '../../src/http/dashboard.js';
import { contract, startDashboard } from '../helpers/contract.js';
import { runCli } from '../helpers/cli.js';
import { addPending, envOf, harness, silentLogger, testConfig, until, type Harness } from '../helpers/env.js';
import type { Config } from '../../src/config.js';
import { CALLBACK_JOB_OPTIONS, CALLBACK_QUEUE, openQueue, type CallbackJob } from '../../src/queue.js';
import { CHUNK_ROWS } from '../../workers/callback-worker.js';
import { ORPHAN_ROWS } from '../../src/ledger/delivery-ledger.js';

/** The receiver takes a batch row by row: what it understands is applied, the rest kept aside and counted. */

const TOKEN = 'cb_intake_0123456789abcdef';
const PASSWORD = 'password-for-intake';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
let h: Harness | undefined;
let dashboard: Dashboard | undefined;
let second: Dashboard | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
  await dashboard?.close();
  await h?.close();
  dashboard = h = undefined;
});

async function setup(sent: number): Promise<{ config: Config; post: (body: unknown) => Promise<Response> }> {
  const config = testConfig({ DASHBOARD_PORT: 0, CALLBACK_TOKEN: TOKEN, DASHBOARD_PASSWORD: PASSWORD });
  h = harness(config);
  const ids = Array.from({ length: sent }, (_, i) => `in-${i}`);
  await addPending(h, 'intake', ids);
  await Promise.all(ids.map((id) => h!.ledger.markSent(id, 'intake', `mid-${id}`)));
  dashboard = await startDashboard(config, silentLogger());
  const post = (body: unknown) =>
    fetch(`${dashboard!.url}/callbacks/engagelab/${TOKEN}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { config, post };
}

const read = (i: number, extra: Record<string, unknown> = {}) => ({
  message_id: `mid-in-${i}`,
  itime: 1_700_000_000 + i,
  status: { message_status: 'read' },
  ...extra,
});

async function metrics(): Promise<string> {
  return (await fetch(`${dashboard!.url}/metrics`, { headers: AUTH })).text();
}

describe('a callback batch taken row by row', () => {
  it('applies the rows it understands, keeps the others aside, counts them, and shows them in the CLI and the API', async () => {
    const { config, post } = await setup(3);
    const answer = await post({
      total: 6,
      rows: [
        read(0),
        { message_id: 'mid-in-1', status: { message_status: 7 } },
        read(1),
        'not a row',
        { message_id: 'mid-in-2', status: { message_status: 'read' }, response: { event: 'received' } },
        read(2),
      ],
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ ok: true, rows: 6, taken: 3, unknown: 3 });
    for (const i of [0, 1, 2]) await until(async () => (await h!.ledger.get(`in-${i}`))?.delivery?.status === 'read');

    const listed = (await (
      await fetch(`${dashboard!.url}/api/callbacks/unknown?limit=2`, { headers: AUTH })
    ).json()) as {
      kept: number;
      rows: Array<{ received_at: string; error: string; row: string; truncated: boolean }>;
    };
    expect(listed.kept).toBe(3);
    // Newest first: the last unknown row of the batch comes first.
    expect(listed.rows).toEqual([
      {
        received_at: expect.any(String),
        error: expect.stringMatching(/exactly one of/),
        row: expect.stringContaining('"response"'),
        truncated: false,
      },
      { received_at: expect.any(String), error: 'a row must be an object', row: '"not a row"', truncated: false },
    ]);
    expect((await fetch(`${dashboard!.url}/api/callbacks/unknown`)).status).toBe(401);
    expect((await fetch(`${dashboard!.url}/api/callbacks/unknown?limit=x`, { headers: AUTH })).status).toBe(400);

    const cli = await runCli(['callbacks', 'unknown', '--json'], envOf(config));
    expect(cli.code).toBe(0);
    const lines = cli.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { error: string });
    expect(lines.map((l) => l.error)).toEqual([
      expect.stringMatching(/exactly one of/),
      'a row must be an object',
      expect.stringMatching(/message_status/),
    ]);
    const text = await runCli(['callbacks', 'unknown', '--limit', '1'], envOf(config));
    expect(text.stdout).toMatch(/exactly one of/);
    expect(text.stdout).not.toMatch(/a row must be an object/);
    expect(text.stderr).toMatch(/1 of 3 kept/);

    const m = await metrics();
    expect(m).toMatch(/^wa_bulk_callback_rows_total 6$/m);
    expect(m).toMatch(/^wa_bulk_callback_unknown_total\{part="row"\} 3$/m);
  });

  it('answers 200 to a batch of rows it does not understand at all, and 400 only to a body that is not a batch', async () => {
    const { post } = await setup(1);
    const junk = await post({ rows: [1, null, { message_id: 1, status: {} }] });
    expect(junk.status).toBe(200);
    expect(await junk.json()).toEqual({ ok: true, rows: 3, taken: 0, unknown: 3 });
    expect((await post({ rows: [] })).status).toBe(400);
    expect((await post([read(0)])).status).toBe(400);
    expect((await post('{"rows": [')).status).toBe(400);
    expect(await h!.redis.llen(h!.keys.callbacksUnknown)).toBe(3);
  });

  it('tries a batch that failed part-way again from where it stopped: the rows before are neither applied nor counted twice', async () => {
    await setup(1);
    const now = Math.floor(Date.now() / 1000);
    const inboundRow = (i: number) => ({
      message_id: `in-msg-${i}`,
      from: `4479111${String(i).padStart(5, '0')}`,
      itime: now,
      response: { event: 'received' },
    });
    // The first chunk: inbound rows and one row for a message_id nobody knows (kept as an orphan). The second
    // chunk holds a row whose message record is not a hash, so Redis refuses it (WRONGTYPE) until it is fixed.
    const rows = [
      ...Array.from({ length: CHUNK_ROWS - 1 }, (_, i) => inboundRow(i)),
      { message_id: 'mid-nobody', itime: now, status: { message_status: 'delivered' } },
      { message_id: 'mid-poison', itime: now, status: { message_status: 'read' } },
      read(0),
    ];
    await h!.redis.set(h!.keys.messageId('mid-poison'), 'intake|poison');
    await h!.redis.set(h!.keys.message('poison'), 'not a hash');
    const queue = openQueue<CallbackJob>(h!.redis, h!.keys.prefix, CALLBACK_QUEUE, CALLBACK_JOB_OPTIONS);
    try {
      const job = await queue.add(
        'batch',
        { rows: rows as CallbackJob['rows'], received_at: Date.now() },
        { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
      );
      await until(async () => (await job.getState()) === 'failed');
      const failed = await queue.getJob(job.id as string);
      expect(failed?.attemptsMade).toBe(3);
      expect(failed?.opts.removeOnFail).toEqual({ age: 3600, count: 100 });
      const stats = async () => h!.redis.hgetall(h!.keys.metrics);
      expect(await h!.redis.llen(h!.keys.orphan('mid-nobody'))).toBe(1);
      expect((await stats()).sessions_opened).toBe(String(CHUNK_ROWS - 1));
      expect((await h!.ledger.get('in-0'))?.delivery).toBeNull();

      // Fixed, and tried again: it goes on from the chunk that failed.
      await h!.redis.del(h!.keys.message('poison'));
      await failed?.retry();
      await until(async () => (await h!.ledger.get('in-0'))?.delivery?.status === 'read');
      await until(
        async () => (await job.getState()) === 'completed' || (await queue.getJob(job.id as string)) === undefined,
      );
      expect(await h!.redis.llen(h!.keys.orphan('mid-nobody'))).toBe(1);
      expect((await stats()).sessions_opened).toBe(String(CHUNK_ROWS - 1));
      expect(await h!.redis.exists(h!.keys.callbackProgress(job.id as string))).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('stores a plausible time whatever itime a row carries, and every reader survives a bad time an older version stored', async () => {
    const { config, post } = await setup(3);
    const answer = await post({
      rows: [read(0, { itime: 1e20 }), read(1, { itime: -1e15 }), read(2, { itime: 99999999999999 })],
    });
    expect(await answer.json()).toMatchObject({ taken: 3, unknown: 0 });
    for (const i of [0, 1, 2]) {
      await until(async () => (await h!.ledger.get(`in-${i}`))?.delivery?.status === 'read');
      const at = Date.parse((await h!.ledger.get(`in-${i}`))?.delivery?.at ?? '');
      expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
    }
    expect(await metrics()).toMatch(/^wa_bulk_callback_itime_replaced_total 3$/m);

    // As an older version left them: times no Date can hold, in a message record and a campaign.
    await h!.redis.hset(h!.keys.message('in-1'), 'delivery_at', '1e+23', 'updated_at', '1e+300');
    await h!.redis.hset(h!.keys.campaign('intake'), 'at', '1e+300', 'expires_at', 'x');
    await h!.redis.zadd(h!.keys.campaigns, '1e+300', 'intake');
    const env = envOf(config);
    const result = await runCli(['result', 'in-1', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      request_id: 'in-1',
      delivery: { status: 'read', at: null },
      updated_at: expect.any(String),
    });
    expect((await runCli(['result', 'in-1'], env)).code).toBe(0);
    for (const format of ['jsonl', 'csv']) {
      const exported = await runCli(['export', '--campaign', 'intake', '--format', format], env);
      expect(exported.code).toBe(0);
      expect(exported.stdout.trim().split('\n')).toHaveLength(format === 'csv' ? 4 : 3);
    }
    const status = await runCli(['status', '--campaign', 'intake', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).campaign).toMatchObject({ id: 'intake', at: null, expires_at: null });
    expect((await runCli(['campaigns', '--json'], env)).code).toBe(0);
    const get = (path: string) => fetch(`${dashboard!.url}${path}`, { headers: AUTH });
    const message = await get('/api/messages/in-1');
    expect(message.status).toBe(200);
    expect(await message.json()).toMatchObject({ delivery: { status: 'read', at: null } });
    expect((await get('/api/campaigns/intake')).status).toBe(200);
    const list = await get('/api/campaigns');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { campaigns: unknown[] }).campaigns).toEqual([
      expect.objectContaining({ id: 'intake', at: null, enqueued_at: expect.any(String) }),
    ]);
    expect((await get('/campaigns')).status).toBe(200);
  });

  it('is applied by several dashboard processes on one queue, each row once', async () => {
    const { config } = await setup(200);
    second = await startDashboard(config, silentLogger());
    const batches: unknown[] = [];
    for (const message_status of ['sent', 'read', 'delivered'])
      for (let i = 0; i < 200; i += 25)
        batches.push({
          rows: Array.from({ length: 25 }, (_, j) => ({ ...read(i + j), status: { message_status } })),
        });
    const answers = await Promise.all(
      batches.map((body, i) =>
        fetch(`${(i % 2 ? second : dashboard)!.url}/callbacks/engagelab/${TOKEN}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        }).then((r) => r.status),
      ),
    );
    expect(new Set(answers)).toEqual(new Set([200]));
    await until(async () => (await h!.ledger.campaign('intake'))?.delivery.read === 200);
    const queue = openQueue<CallbackJob>(h!.redis, h!.keys.prefix, CALLBACK_QUEUE);
    await until(async () => Object.values(await queue.getJobCounts('wait', 'active')).every((n) => n === 0));
    await queue.close();
    expect((await h!.ledger.campaign('intake'))?.delivery).toEqual({ sent: 200, delivered: 200, read: 200, failed: 0 });
    const stats = await h!.redis.hgetall(h!.keys.metrics);
    expect([stats.callback_rows, stats['delivery:read'], stats['delivery:delivered'] ?? '0']).toEqual([
      '600',
      '200',
      '0',
    ]);
  });

  it('keeps rows for unknown message_ids within bounds: so many per message_id, so many message_ids, and counts the rest', async () => {
    const { post } = await setup(1);
    const rows = Array.from({ length: ORPHAN_ROWS + 4 }, () => ({
      message_id: 'mid-stranger',
      status: { message_status: 'delivered' },
    }));
    expect(await (await post({ rows })).json()).toMatchObject({ taken: ORPHAN_ROWS + 4 });
    await until(async () => (await h!.redis.hget(h!.keys.metrics, 'callback_orphan_dropped')) === '4');
    expect(await h!.redis.llen(h!.keys.orphan('mid-stranger'))).toBe(ORPHAN_ROWS);
    expect(await metrics()).toMatch(/^wa_bulk_callback_orphans_dropped_total 4$/m);

    // The bound on message_ids, made small here: the fourth stranger is not kept, the known message still moves.
    const update = {
      status: 'read' as const,
      at: Date.now(),
      errorCode: null,
      error: null,
      lossStep: null,
      lossSource: null,
    };
    const results = await h!.ledger.applyDeliveries(
      [
        ...['s-1', 's-2', 's-3'].map((id) => ({ message: undefined, messageId: id, update })),
        { message: { requestId: 'in-0', campaign: 'intake' }, messageId: 'mid-in-0', update },
      ],
      { ttlSeconds: 60, rows: 8, ids: 3 },
    );
    expect(results.map((r) => r.result)).toEqual(['orphaned', 'orphaned', 'orphan_refused', 'applied']);
    expect(await h!.redis.zcard(h!.keys.orphans)).toBe(3);
    expect(await h!.redis.exists(h!.keys.orphan('s-3'))).toBe(0);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
