import { afterEach, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { Archiver } from '../../src/archive/archiver.js';
import { ArchiveStore } from '../../src/archive/store.js';
import type { Config, ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../../src/dev/redis-server.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';
import { runCli } from '../helpers/cli.js';
import {
  addPending,
  campaignDone,
  collect,
  envOf,
  silentLogger,
  tempFile,
  testConfig,
  until,
  type Harness,
} from '../helpers/env.js';
import { usePostgres } from '../helpers/postgres.js';
import { useStack } from '../helpers/stack.js';

const postgres = usePostgres('archive tests');
// Before the stack's stop (hooks run in the order they are declared): a worker's archiver closes against a
// PostgreSQL a test halted.
afterEach(async () => {
  const server = postgres.server;
  if (server && server.process.exitCode !== null) await server.start();
});
const stack = useStack();

function file(count: number, prefix: string): string {
  return tempFile(
    jsonl(Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.text, request_id: `${prefix}-${i}` }))),
  );
}

/** Settings that archive to the file's PostgreSQL, and keep records in Redis 2 s. */
function archiving(overrides: ConfigInput = {}): ConfigInput {
  return { DATABASE_URL: postgres.url, HOT_TTL_SECONDS: 2, ...overrides };
}

function archiveConfig(overrides: ConfigInput = {}): Config {
  return testConfig(archiving(overrides));
}

async function rows(config: Config, where = 'true'): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (
      await client.query(`SELECT * FROM wa_bulk_messages WHERE space = $1 AND ${where} ORDER BY seq`, [
        config.QUEUE_PREFIX,
      ])
    ).rows;
  } finally {
    await client.end();
  }
}

/** Redis keys of the prefix that hold one message each (records, message_id index entries). */
async function perMessageKeys(harnessed: Harness): Promise<number> {
  const [records, ids] = await Promise.all([
    harnessed.redis.keys(`${harnessed.keys.prefix}:msg:*`),
    harnessed.redis.keys(`${harnessed.keys.prefix}:mid:*`),
  ]);
  return records.length + ids.length;
}

postgres.suite('the long-term ledger in PostgreSQL', () => {
  it('keeps every record after its Redis TTL: result, export and status read it from PostgreSQL', async () => {
    const { config, h, env } = await stack.start({ simulator: {}, config: archiving() });
    expect((await runCli(['enqueue', file(60, 'keep'), '--campaign', 'keep', '--json'], env)).code).toBe(0);
    await stack.startWorker();
    await campaignDone(h.ledger, 'keep');
    await until(async () => (await rows(config)).length === 60 && (await h.redis.xlen(h.keys.archive)) === 0);
    // HOT_TTL_SECONDS=2: Redis lets every settled record and its message_id go.
    await until(async () => (await perMessageKeys(h)) === 0, 10_000);

    const result = await runCli(['result', 'keep-7', '--json'], env);
    expect(result.code).toBe(0);
    const record = JSON.parse(result.stdout);
    expect(record).toMatchObject({
      request_id: 'keep-7',
      campaign: 'keep',
      to: phone(7).replace('+', ''),
      status: 'sent',
      message_id: expect.any(String),
      attempts: 1,
      error: null,
    });
    const exported = (await runCli(['export', '--campaign', 'keep'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(exported.map((r) => r.request_id)).toEqual(Array.from({ length: 60 }, (_, i) => `keep-${i}`));
    expect(new Set(exported.map((r) => r.message_id)).size).toBe(60);
    expect(exported.every((r) => r.status === 'sent')).toBe(true);
    const status = JSON.parse((await runCli(['status', '--campaign', 'keep', '--json'], env)).stdout);
    expect(status.campaign).toMatchObject({ total: 60, sent: 60, dead: 0, pending: 0, state: 'done' });
    expect(status.archive).toEqual({ backlog: 0 });

    // Once Redis has let the campaign itself go, export and status still answer from PostgreSQL alone.
    await h.redis.del(h.keys.campaign('keep'), h.keys.campaignIds('keep'));
    const later = (await runCli(['export', '--campaign', 'keep'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(later).toEqual(exported);
    expect(JSON.parse((await runCli(['status', '--campaign', 'keep', '--json'], env)).stdout).campaign).toMatchObject({
      total: 60,
      sent: 60,
      state: 'done',
      archived: true,
    });
    const campaigns = (await runCli(['campaigns', '--json'], env)).stdout;
    expect(campaigns).toContain('"keep"');
  });

  it('lands delivery callbacks that arrive after the hot TTL, in the record and the funnel', async () => {
    const port = await freePort();
    const token = 'late_callbacks_token_0123';
    const { config, h } = await stack.start({
      simulator: {},
      config: archiving({ DASHBOARD_PORT: port, CALLBACK_TOKEN: token, DASHBOARD_PASSWORD: 'archive-late-password' }),
    });
    expect((await runCli(['enqueue', file(10, 'late'), '--campaign', 'late', '--json'], envOf(config))).code).toBe(0);
    await stack.startWorker();
    await stack.startDashboard();
    await campaignDone(h.ledger, 'late');
    await until(async () => (await rows(config, "status = 'sent'")).length === 10);
    await until(async () => (await perMessageKeys(h)) === 0, 10_000);

    const sent = await rows(config);
    const at = Math.floor(Date.now() / 1000);
    const callbackRows = sent.map((row, i) => ({
      message_id: row.message_id,
      to: row.recipient,
      server: 'whatsapp',
      itime: at,
      status:
        i < 3
          ? {
              message_status: 'delivered_failed',
              error_code: 131026,
              error_detail: { message: 'Message undeliverable' },
              loss: { loss_step: 3, loss_source: 'meta' },
            }
          : {
              message_status: i < 6 ? 'read' : 'delivered',
              error_code: 0,
              // Priced billable: the four delivered ones, as Meta prices a delivered utility message.
              ...(i >= 6 && {
                status_data: { country_code: 'GB', pricing: { billable: true, category: 'utility', type: 'regular' } },
              }),
            },
    }));
    const res = await fetch(`http://127.0.0.1:${port}/callbacks/engagelab/${token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ total: callbackRows.length, rows: callbackRows }),
    });
    expect(res.status).toBe(200);
    await until(async () => (await rows(config, 'delivery_status IS NOT NULL')).length === 10);

    const records = await collect(h.ledger.export('late'));
    expect(records.filter((r) => r.delivery?.status === 'failed').map((r) => r.delivery?.error_code)).toEqual([
      131026, 131026, 131026,
    ]);
    expect(records.filter((r) => r.delivery?.status === 'read')).toHaveLength(3);
    expect(records.filter((r) => r.delivery?.status === 'delivered')).toHaveLength(4);
    // The campaign's counters are still in Redis (RESULT_TTL_DAYS): its funnel moved with the late rows.
    expect((await h.ledger.campaign('late'))?.delivery).toEqual({ sent: 10, delivered: 7, read: 3, failed: 3 });
    expect((await h.ledger.campaign('late'))?.delivery_failed_by_code).toEqual({ '131026': 3 });
    // The billable ones are counted on the campaign as a callback of a message in Redis counts them.
    const billable = { messages: 4, by_country: { GB: { utility: 4 } }, by_category: { utility: 4 } };
    expect((await h.ledger.campaign('late'))?.cost?.billable).toEqual(billable);
    // A late row that is not further changes nothing, and a priced one is not counted twice.
    await fetch(`http://127.0.0.1:${port}/callbacks/engagelab/${token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        total: 1,
        rows: [
          { ...callbackRows[4], status: { message_status: 'delivered', error_code: 0 } },
          { ...callbackRows[7], status: { ...callbackRows[7]?.status, message_status: 'read' } },
        ],
      }),
    });
    await until(async () => (await h.ledger.get(sent[7]?.request_id as string))?.delivery?.status === 'read');
    expect((await h.ledger.get(sent[4]?.request_id as string))?.delivery?.status).toBe('read');
    expect((await h.ledger.campaign('late'))?.delivery).toEqual({ sent: 10, delivered: 7, read: 4, failed: 3 });
    expect((await h.ledger.campaign('late'))?.cost?.billable).toEqual(billable);
  });

  it('keeps custom_args and a reply that comes after the hot TTL: result and export by outcome read them from PostgreSQL', async () => {
    const port = await freePort();
    const token = 'late_replies_token_01234';
    const { config, h } = await stack.start({
      simulator: {},
      config: archiving({ DASHBOARD_PORT: port, CALLBACK_TOKEN: token, DASHBOARD_PASSWORD: 'archive-reply-password' }),
    });
    const messages = Array.from({ length: 4 }, (_, i) => ({
      to: phone(i),
      body: BODIES.text,
      request_id: `args-${i}`,
      ...(i < 3 && { custom_args: { order: `A-${i}`, n: i } }),
    }));
    expect(await enqueue(itemsOfArray(messages), { campaign: 'args', ledger: h.ledger, queue: h.send })).toMatchObject({
      accepted: 4,
    });
    await stack.startWorker();
    await stack.startDashboard();
    await campaignDone(h.ledger, 'args');
    await until(async () => (await rows(config, "status = 'sent'")).length === 4);
    await until(async () => (await perMessageKeys(h)) === 0, 10_000);
    expect((await rows(config)).map((row) => row.custom_args)).toEqual([
      { order: 'A-0', n: 0 },
      { order: 'A-1', n: 1 },
      { order: 'A-2', n: 2 },
      null,
    ]);

    // The recipient of args-1 answers it once Redis has let its record go: only PostgreSQL can keep it.
    const [answered] = await rows(config, "request_id = 'args-1'");
    const repliedAt = Math.floor(Date.now() / 1000) - 60;
    const reply = (text: string, itime: number) => ({
      message_id: `in-${text}`,
      from: String(answered?.recipient),
      server: 'whatsapp',
      itime,
      response: {
        event: 'reply',
        response_data: {
          message: { type: 'text', text },
          message_context: { origin_message_id: answered?.message_id },
        },
      },
    });
    const post = (row: object) =>
      fetch(`http://127.0.0.1:${port}/callbacks/engagelab/${token}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ total: 1, rows: [row] }),
      });
    expect((await post(reply('yes', repliedAt))).status).toBe(200);
    await until(async () => (await rows(config, 'replied_at IS NOT NULL')).length === 1);
    // A second answer, later, keeps the first one's time.
    expect((await post(reply('again', repliedAt + 30))).status).toBe(200);
    await until(async () => (await h.redis.xlen(h.keys.archive)) === 0);
    const [kept] = await rows(config, 'replied_at IS NOT NULL');
    expect([kept?.request_id, (kept?.replied_at as Date).getTime()]).toEqual(['args-1', repliedAt * 1000]);

    const env = envOf(config);
    const result = JSON.parse((await runCli(['result', 'args-1', '--json'], env)).stdout);
    expect(result).toMatchObject({
      request_id: 'args-1',
      custom_args: { order: 'A-1', n: 1 },
      replied_at: new Date(repliedAt * 1000).toISOString(),
    });
    const replied = (await runCli(['export', '--campaign', 'args', '--delivery', 'replied'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(replied.map((r) => [r.request_id, r.custom_args])).toEqual([['args-1', { order: 'A-1', n: 1 }]]);
    const audience = (await runCli(['export', '--campaign', 'args', '--format', 'audience'], env)).stdout;
    expect(audience.trim().split('\n')).toHaveLength(5);
    expect(audience).toContain('A-2');
  });

  it('loses nothing when a worker is killed mid-batch: another archiver claims its entries', async () => {
    const { config, h, env } = await stack.start({
      simulator: { latencyMs: 20 },
      config: archiving({ HOT_TTL_SECONDS: 3600, WORKER_CONCURRENCY: 10, LOG_LEVEL: 'info' }),
    });
    expect((await runCli(['enqueue', file(400, 'kill'), '--campaign', 'kill', '--json'], env)).code).toBe(0);
    const a = await stack.startCli(['worker'], env);
    // Kill it while it sends and archives.
    await until(async () => (await rows(config)).length > 20, 30_000);
    a.child.kill('SIGKILL');
    await a.exited;
    const archivedAtKill = (await rows(config)).length;
    expect(archivedAtKill).toBeLessThan(400);

    // A new worker sends the rest; its archiver claims what the dead one had read and not acknowledged.
    await stack.startWorker();
    const claimer = new Archiver(
      h.redis,
      h.redis.duplicate(),
      h.keys.archive,
      new ArchiveStore(config.DATABASE_URL as string, config.QUEUE_PREFIX),
      silentLogger(),
      { claimIdleMs: 1000 },
    );
    claimer.start();
    try {
      await campaignDone(h.ledger, 'kill', 60_000);
      await until(
        async () =>
          (await h.redis.xlen(h.keys.archive)) === 0 && (await h.redis.xpending(h.keys.archive, 'archivers'))[0] === 0,
        30_000,
      );
    } finally {
      await claimer.stop();
    }
    const archived = await rows(config);
    expect(archived).toHaveLength(400);
    const records = await collect(h.ledger.export('kill'));
    // PostgreSQL holds what Redis holds, message for message.
    const byId = new Map(archived.map((row) => [row.request_id, row]));
    for (const record of records) {
      expect(byId.get(record.request_id)).toMatchObject({ status: record.status, message_id: record.message_id });
    }
    expect(records.filter((r) => r.status === 'sent')).toHaveLength((await h.ledger.campaign('kill'))?.sent ?? -1);
  });

  it('goes on sending while PostgreSQL is down for 10 s, then catches up, with one line each way', async () => {
    const { config, h } = await stack.start({
      simulator: { latencyMs: 5 },
      config: archiving({ HOT_TTL_SECONDS: 3600, SEND_RATE_MAX: 40 }),
    });
    const lines: string[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const log = createLogger({ level: 'info', pretty: false, destination });
    await stack.startWorker(config, log);
    await postgres.server?.halt();
    const downAt = Date.now();
    expect((await runCli(['enqueue', file(200, 'down'), '--campaign', 'down', '--json'], envOf(config))).code).toBe(0);
    // Sending goes on: messages are sent while PostgreSQL is down.
    await until(async () => ((await h.ledger.campaign('down'))?.sent ?? 0) >= 100, 20_000);
    expect(await h.redis.xlen(h.keys.archive)).toBeGreaterThanOrEqual(100);
    const waited = 10_000 - (Date.now() - downAt);
    if (waited > 0) await sleep(waited);
    const sentWhileDown = (await h.ledger.campaign('down'))?.sent ?? 0;
    expect(sentWhileDown).toBeGreaterThanOrEqual(100);
    await postgres.server?.start();
    await campaignDone(h.ledger, 'down', 30_000);
    await until(async () => (await h.redis.xlen(h.keys.archive)) === 0, 30_000);
    expect(await rows(config, "status = 'sent'")).toHaveLength(200);
    const archiveLines = lines.filter((line) => line.includes('archive:'));
    expect(archiveLines.filter((line) => line.includes('cannot archive'))).toHaveLength(1);
    expect(archiveLines.filter((line) => line.includes('reachable again'))).toHaveLength(1);
  }, 90_000);

  it('keeps a dead message in Redis as long as its dead letter, so dlq replay can revive it after the hot TTL', async () => {
    const { config, h } = await stack.start({ config: archiving({ HOT_TTL_SECONDS: 60 }) });
    await addPending(h, 'ttl', ['ttl-dead', 'ttl-skipped']);
    await h.ledger.markDead('ttl-dead', 'ttl', { code: 3001, http_status: 400, reason: 'permanent', message: 'bad' });
    await h.ledger.markSkipped('ttl-skipped', 'ttl', 'cancelled');
    expect(await h.redis.ttl(h.keys.message('ttl-dead'))).toBeGreaterThan(config.RESULT_TTL_DAYS * 86_400 - 60);
    expect(await h.redis.ttl(h.keys.message('ttl-skipped'))).toBeLessThanOrEqual(60);
    expect(await h.ledger.revive('ttl-dead', 'ttl')).toBe(true);
    // All three changes (dead, skipped, revived) are on their way to PostgreSQL, beside campaign.started.
    const kinds = (await h.redis.xrange(h.keys.archive, '-', '+')).map(([, fields]) => fields[1]);
    expect(kinds).toEqual(['campaign.started', 'dead', 'skipped', 'revived']);
  });

  it('answers a campaign only PostgreSQL holds with its skips by reason, failed deliveries by code and times; not its rejected lines', async () => {
    const { config, h } = await stack.start({ config: archiving() });
    await addPending(
      h,
      'gone',
      Array.from({ length: 6 }, (_, i) => `g-${i}`),
    );
    for (let i = 0; i < 3; i++) await h.ledger.markSent(`g-${i}`, 'gone', `mid-g-${i}`);
    const update = { at: Date.now(), error: null, lossStep: null, lossSource: null };
    await h.ledger.applyDelivery(
      { requestId: 'g-0', campaign: 'gone' },
      { ...update, status: 'failed', errorCode: 131026 },
    );
    await h.ledger.applyDelivery(
      { requestId: 'g-1', campaign: 'gone' },
      { ...update, status: 'read', errorCode: null },
    );
    await h.ledger.markSkipped('g-3', 'gone', 'expired');
    await h.ledger.markSkipped('g-4', 'gone', 'no_session');
    await h.ledger.markDead('g-5', 'gone', {
      code: 4001,
      http_status: 400,
      reason: 'permanent',
      message: 'no such template',
    });
    await enqueue(itemsOfArray([{ to: phone(1), body: { type: 'text', text: {} } }]), {
      campaign: 'gone',
      ledger: h.ledger,
      queue: h.send,
    });
    const hot = await h.ledger.campaign('gone');
    expect(hot).toMatchObject({
      rejected: 1,
      skipped_by: { expired: 1, no_session: 1 },
      delivery_failed_by_code: { '131026': 1 },
    });
    const archiver = new Archiver(
      h.redis,
      h.redis.duplicate(),
      h.keys.archive,
      new ArchiveStore(config.DATABASE_URL as string, config.QUEUE_PREFIX),
      silentLogger(),
    );
    archiver.start();
    try {
      await until(async () => (await h.redis.xlen(h.keys.archive)) === 0 && (await rows(config)).length === 6);
    } finally {
      await archiver.stop();
    }
    await h.redis.del(h.keys.campaign('gone'), h.keys.campaignIds('gone'));
    expect(await h.ledger.campaign('gone')).toMatchObject({
      archived: true,
      rejected: null,
      total: 6,
      sent: 3,
      dead: 1,
      skipped: 2,
      skipped_by: hot?.skipped_by,
      delivery: hot?.delivery,
      delivery_failed_by_code: hot?.delivery_failed_by_code,
      dead_by_code: hot?.dead_by_code,
      started_at: hot?.started_at,
      finished_at: hot?.finished_at,
      rate: hot?.rate,
    });
    // Its messages newest first, page by page, each at its place in enqueue order.
    const newest = await collect(h.ledger.entriesNewestFirst('gone', undefined, 2));
    expect(newest.map(({ at, record }) => `${at}:${record.request_id}`)).toEqual(
      Array.from({ length: 6 }, (_, i) => `${5 - i}:g-${5 - i}`),
    );
    const fromThird = await collect(h.ledger.entriesNewestFirst('gone', 3, 2));
    expect(fromThird.map(({ record }) => record.request_id)).toEqual(['g-3', 'g-2', 'g-1', 'g-0']);
  });

  it('writes idempotently: a batch written twice, or an older snapshot after a newer one, changes nothing', async () => {
    const config = archiveConfig();
    const store = new ArchiveStore(config.DATABASE_URL as string, config.QUEUE_PREFIX);
    try {
      await store.migrate();
      expect(await store.migrate()).toEqual([]);
      const base = {
        request_id: 'idem-1',
        campaign: 'idem',
        to: '447911123456',
        seq: '1',
        created_at: '1700000000000',
        attempts: '1',
      };
      const pending = { ...base, status: 'pending', updated_at: '1700000000000' };
      const sent = { ...base, status: 'sent', message_id: 'mid-1', updated_at: '1700000001000' };
      const read = { ...sent, delivery_status: 'read', delivery_at: '1700000002000' };
      await store.write([
        { id: '1700000000000-0', snapshot: pending },
        { id: '1700000001000-0', snapshot: sent },
      ]);
      await store.write([{ id: '1700000002000-0', snapshot: read }]);
      // The same entries again, and the older ones after the newer: nothing moves back.
      await store.write([
        { id: '1700000001000-0', snapshot: sent },
        { id: '1700000000000-0', snapshot: pending },
      ]);
      expect(await store.write([{ id: '1700000002000-0', snapshot: read }])).toBe(0);
      expect(await store.get('idem-1')).toMatchObject({
        status: 'sent',
        message_id: 'mid-1',
        delivery: { status: 'read' },
      });
      expect(await rows(config)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
