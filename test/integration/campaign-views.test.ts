import { afterAll, describe, expect, it } from '@jest/globals';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { Campaigns } from '../../src/campaigns/campaigns.js';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import type { DeliveryUpdate } from '../../src/ledger/delivery.js';
import { runCli } from '../helpers/cli.js';
import { addPending, envOf, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { contract, startDashboard } from '../helpers/contract.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** What an operator reads about a campaign: its rejected lines, skips by reason, timing, delivery and exports. */

const PASSWORD = 'views-test-password';
const stack = useStack();

const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const good = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.text, request_id: `${prefix}-${i}` }));
const bad = { to: phone(9), body: { type: 'text', text: {} } };

const delivery = (status: DeliveryUpdate['status'], at: number, errorCode: number | null = null): DeliveryUpdate => ({
  status,
  at,
  errorCode,
  error: errorCode === null ? null : 'undeliverable',
  lossStep: null,
  lossSource: null,
});

describe('rejected lines', () => {
  it('are counted over every enqueue of a campaign, command line and HTTP API, and kept for export --rejected', async () => {
    const { config, env } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    const file = tempFile(jsonl([...good('cli', 3), bad]));
    expect((await runCli(['enqueue', file, '--campaign', 'views', '--no-preflight'], env)).code).toBe(1);
    const dashboard = await stack.startDashboard(config, startDashboard);
    const posted = await fetch(`${dashboard.url}/api/campaigns/views/messages?preflight=false`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify([bad, ...good('api', 1), { to: 'nobody', body: BODIES.text }]),
    });
    expect(await posted.json()).toMatchObject({ accepted: 1, rejected: 2 });

    const status = JSON.parse((await runCli(['status', '--campaign', 'views', '--json'], env)).stdout);
    expect(status.campaign).toMatchObject({ total: 4, rejected: 3 });
    const listed = JSON.parse((await runCli(['campaigns', '--json'], env)).stdout);
    expect(listed).toMatchObject({ id: 'views', rejected: 3 });
    const table = (await runCli(['campaigns'], env)).stdout.split('\n');
    expect(table[0]).toMatch(/\bskipped\b.*\bpending\b.*\brejected\b/);
    expect(table[1]).toMatch(/^views\s+sending\s+4\s+0\s+0\s+0\s+4\s+3\s/);
    expect((await runCli(['status', '--campaign', 'views'], env)).stdout).toContain('4 pending  3 rejected at enqueue');

    const rejected = (await runCli(['export', '--campaign', 'views', '--rejected'], env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; error: string; enqueued_at: string });
    expect(rejected.map((r) => [r.line, r.error])).toEqual([
      [4, 'body.text.body: is required'],
      [1, 'body.text.body: is required'],
      [3, expect.stringMatching(/^to\[0\]: "nobody" is not an international phone number/)],
    ]);
    expect(Date.parse(rejected[0]?.enqueued_at ?? '')).toBeLessThanOrEqual(Date.parse(rejected[1]?.enqueued_at ?? ''));
    const csv = (await runCli(['export', '--campaign', 'views', '--rejected', '--format', 'csv'], env)).stdout;
    expect(csv.split('\n').slice(0, 2)).toEqual([
      'line,error,enqueued_at',
      `4,body.text.body: is required,${rejected[0]?.enqueued_at}`,
    ]);
    const api = await (await fetch(`${dashboard.url}/api/campaigns/views/rejects`, { headers: auth })).json();
    expect(api).toEqual({ campaign: 'views', rejected: 3, rejects: rejected });
  });

  it('keeps the first 1,000 of a campaign and counts them all; a dry run records none', async () => {
    const { config, h } = await stack.start();
    const items = Array.from({ length: 1205 }, () => bad);
    await enqueue(itemsOfArray(items), { campaign: 'many', ledger: h.ledger, queue: h.send, dryRun: true });
    expect(await h.redis.exists(h.keys.campaign('many'), h.keys.campaignRejects('many'))).toBe(0);
    await enqueue(itemsOfArray([...items, ...good('many', 2)]), {
      campaign: 'many',
      ledger: h.ledger,
      queue: h.send,
      chunkSize: 100,
    });
    await enqueue(itemsOfArray([bad]), { campaign: 'many', ledger: h.ledger, queue: h.send });
    expect((await h.ledger.campaign('many'))?.rejected).toBe(1206);
    const kept = await h.ledger.rejects.list('many');
    expect(kept).toHaveLength(1000);
    expect(kept.map((r) => r.line).slice(0, 3)).toEqual([1, 2, 3]);
    const res = await runCli(['export', '--campaign', 'many', '--rejected'], envOf(config));
    expect(res.stdout.trim().split('\n')).toHaveLength(1000);
    expect(res.stderr).toBe('wa-bulk: 1,206 lines were rejected; 1,000 are kept (the first 1,000 at most)\n');
  });
});

describe('a campaign in numbers', () => {
  it('breaks skipped down by reason, and counts failed deliveries by code until a later report overrides them', async () => {
    const { config, h } = await stack.start();
    await addPending(
      h,
      'mixed',
      Array.from({ length: 7 }, (_, i) => `m-${i}`),
    );
    for (let i = 0; i < 3; i++) await h.ledger.markSent(`m-${i}`, 'mixed', `mid-m-${i}`);
    await h.ledger.markSkipped('m-3', 'mixed', 'expired');
    await h.ledger.markSkipped('m-4', 'mixed', 'suppressed');
    await new Campaigns(h.redis, h.keys).cancel('mixed', h.ledger);
    const now = Date.now();
    await h.ledger.applyDelivery({ requestId: 'm-0', campaign: 'mixed' }, delivery('failed', now, 131026));
    await h.ledger.applyDelivery({ requestId: 'm-1', campaign: 'mixed' }, delivery('failed', now, 131049));
    await h.ledger.applyDelivery({ requestId: 'm-1', campaign: 'mixed' }, delivery('read', now + 1000));
    await h.ledger.applyDelivery({ requestId: 'm-2', campaign: 'mixed' }, delivery('failed', now));

    const c = await h.ledger.campaign('mixed');
    expect(c).toMatchObject({
      state: 'cancelled',
      skipped: 4,
      skipped_by: { cancelled: 2, expired: 1, suppressed: 1, no_session: 0, removed: 0 },
      delivery: { sent: 3, delivered: 1, read: 1, failed: 2 },
      delivery_failed_by_code: { '131026': 1, none: 1 },
    });
    expect(c?.delivery_failed_by_code).not.toHaveProperty('131049');
    const text = (await runCli(['status', '--campaign', 'mixed'], envOf(config))).stdout;
    expect(text).toContain('skipped: expired 1, cancelled 2, suppressed 1');
    expect(text).toContain('1 delivered (read included)  1 read  2 failed  (of 3 sent)');
    expect(text).toContain('failed by code: 131026 × 1, none × 1');
  });

  it('times a campaign: its start, rate and ETA while it sends, its finish and average once done', async () => {
    const { config, h } = await stack.start();
    const before = Date.now();
    await addPending(
      h,
      'timed',
      Array.from({ length: 10 }, (_, i) => `t-${i}`),
    );
    expect(await h.ledger.campaign('timed')).toMatchObject({ started_at: null, rate: null, eta: null });
    for (let i = 0; i < 4; i++) await h.ledger.markSent(`t-${i}`, 'timed', `mid-t-${i}`);
    const sending = await h.ledger.campaign('timed');
    expect(Date.parse(sending?.started_at ?? '')).toBeGreaterThanOrEqual(before);
    expect(sending?.finished_at).toBeNull();
    // Its rate comes from the pace the settle script keeps (its arithmetic: test/unit/campaign-figures.test.ts).
    expect(sending?.rate).toBeGreaterThan(0);
    expect(Date.parse(sending?.eta ?? '')).toBeGreaterThan(Date.parse(sending?.started_at ?? ''));
    const text = (await runCli(['status', '--campaign', 'timed'], envOf(config))).stdout;
    expect(text).toMatch(
      /^timing {4}started \S+ \S+Z {2}running [^\n]+ {2}rate [\d.]+\/s {2}ETA \S+ \S+Z \(in [^)]+\)$/m,
    );

    for (let i = 4; i < 9; i++) await h.ledger.markSent(`t-${i}`, 'timed', `mid-t-${i}`);
    await h.ledger.markDead('t-9', 'timed', { code: 4001, http_status: 400, reason: 'permanent', message: 'no' });
    const done = await h.ledger.campaign('timed');
    expect(done).toMatchObject({ state: 'done', eta: null });
    expect(Date.parse(done?.finished_at ?? '')).toBeGreaterThanOrEqual(Date.parse(done?.started_at ?? ''));
    // Ten requests over the run (a run counts as a second at least).
    const runMs = Date.parse(done?.finished_at ?? '') - Date.parse(done?.started_at ?? '');
    expect(done?.rate).toBeCloseTo(10 / Math.max(1, runMs / 1000), 1);
    expect((await runCli(['status', '--campaign', 'timed'], envOf(config))).stdout).toMatch(
      /^timing {4}started \S+ \S+Z {2}finished \S+ \S+Z {2}took [^\n]+ {2}rate [\d.]+\/s on average$/m,
    );
  });

  it('export --format csv and result carry the delivery state; the HTTP export downloads the same', async () => {
    const { config, h, env } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    await addPending(h, 'told', ['d-1', 'd-2', 'd-3', 'd-4']);
    for (const id of ['d-1', 'd-2', 'd-3']) await h.ledger.markSent(id, 'told', `mid-${id}`);
    await deadLetter(
      h.dead,
      h.ledger,
      { request_id: 'd-4', campaign: 'told', payload: { to: ['447911123456'], body: BODIES.text as never } },
      { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
      1,
    );
    await addPending(h, 'other', ['o-1']);
    await deadLetter(
      h.dead,
      h.ledger,
      { request_id: 'o-1', campaign: 'other', payload: { to: ['447911123456'], body: BODIES.text as never } },
      { code: 3002, http_status: 400, reason: 'permanent', message: 'bad request' },
      1,
    );
    const at = Date.UTC(2026, 4, 1, 12, 0, 0);
    await h.ledger.applyDelivery({ requestId: 'd-1', campaign: 'told' }, delivery('read', at));
    await h.ledger.applyDelivery({ requestId: 'd-2', campaign: 'told' }, delivery('failed', at, 131026));

    const csv = (await runCli(['export', '--campaign', 'told', '--format', 'csv'], env)).stdout.trim().split('\n');
    expect(csv[0]).toBe(
      'request_id,campaign,to,status,message_id,error_code,http_status,reason,error_message,attempts,updated_at,delivery_status,delivery_at,delivery_error_code',
    );
    expect(csv[1]).toMatch(/^d-1,told,.*,read,2026-05-01T12:00:00\.000Z,$/);
    expect(csv[2]).toMatch(/^d-2,told,.*,failed,2026-05-01T12:00:00\.000Z,131026$/);
    expect(csv[3]).toMatch(/^d-3,told,.*,sent,mid-d-3,.*,,,$/);
    expect(csv[4]).toMatch(/^d-4,told,.*,dead,,4001,400,permanent,template does not exist,0,[^,]+,,,$/);
    expect((await runCli(['result', 'd-1'], env)).stdout).toContain('delivery    read at 2026-05-01T12:00:00.000Z\n');
    expect((await runCli(['result', 'd-2'], env)).stdout).toContain(
      'delivery    failed at 2026-05-01T12:00:00.000Z (error code 131026)\n',
    );
    expect((await runCli(['result', 'd-3'], env)).stdout).toContain('delivery    no delivery report yet\n');

    const dashboard = await stack.startDashboard(config, startDashboard);
    const download = await fetch(`${dashboard.url}/api/campaigns/told/export?format=csv`, { headers: auth });
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="told.csv"');
    expect((await download.text()).trim().split('\n')).toEqual(csv);
    const jsonl = await (await fetch(`${dashboard.url}/api/campaigns/told/export`, { headers: auth })).text();
    expect(jsonl).toBe((await runCli(['export', '--campaign', 'told'], env)).stdout);
    const dead = await (await fetch(`${dashboard.url}/api/campaigns/told/dead-letters`, { headers: auth })).json();
    expect(dead).toEqual({
      campaign: 'told',
      dead_letters: [
        {
          request_id: 'd-4',
          to: '447911123456',
          error: { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
          attempts: 1,
          died_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ],
      truncated: false,
    });
    expect((await fetch(`${dashboard.url}/api/campaigns/nope/export`, { headers: auth })).status).toBe(404);
    const wrong = await fetch(`${dashboard.url}/api/campaigns/told/export?format=xml`, { headers: auth });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'format: expected "jsonl", "csv" or "audience", got "xml"' });
    expect((await fetch(`${dashboard.url}/api/campaigns/told/export`)).status).toBe(401);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
