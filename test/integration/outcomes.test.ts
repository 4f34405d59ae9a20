import { describe, expect, it } from '@jest/globals';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import type { DeliveryUpdate } from '../../src/ledger/delivery.js';
import type { MessageRecord } from '../../src/ledger/records.js';
import { Inbound } from '../../src/recipients/inbound.js';
import type { CallbackRow } from '../../src/engagelab/callbacks.js';
import { runCli } from '../helpers/cli.js';
import { envOf, silentLogger, tempFile, testConfig } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { startDashboard } from '../helpers/contract.js';
import { BODIES, phone } from '../fixtures/messages.js';

/**
 * A campaign's messages by outcome: export's filters, its audience CSV enqueued again as a follow-up with the
 * original custom_args, and GET /api/campaigns/:id/messages with the same filters, page by page.
 */

const PASSWORD = 'outcomes-test-password';
const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const stack = useStack();

const delivery = (status: DeliveryUpdate['status'], errorCode: number | null = null): DeliveryUpdate => ({
  status,
  at: Date.now(),
  errorCode,
  error: errorCode === null ? null : 'undeliverable',
  lossStep: null,
  lossSource: null,
});

/**
 * Seven messages, one per outcome: o-0 read, o-1 delivered and replied to, o-2 sent with no report,
 * o-3 failed delivery 131026, o-4 dead 4001, o-5 skipped (suppressed), o-6 pending. o-6 has no custom_args.
 */
async function seed(config: ReturnType<typeof testConfig>) {
  const h = stack.harness(config);
  const messages = Array.from({ length: 7 }, (_, i) => ({
    to: phone(i),
    body: BODIES.text,
    request_id: `o-${i}`,
    ...(i < 6 && { custom_args: { name: `N, ${i}`, order: i } }),
  }));
  expect(await enqueue(itemsOfArray(messages), { campaign: 'out', ledger: h.ledger, queue: h.send })).toMatchObject({
    accepted: 7,
  });
  for (let i = 0; i < 4; i++) await h.ledger.markSent(`o-${i}`, 'out', `mid-o-${i}`);
  const at = (i: number) => ({ requestId: `o-${i}`, campaign: 'out' });
  await h.ledger.applyDelivery(at(0), delivery('read'));
  await h.ledger.applyDelivery(at(1), delivery('delivered'));
  await h.ledger.applyDelivery(at(3), delivery('failed', 131026));
  await h.ledger.markDead('o-4', 'out', { code: 4001, http_status: 400, reason: 'permanent', message: 'no' });
  await h.ledger.markSkipped('o-5', 'out', 'suppressed');
  // The recipient of o-1 answers it.
  const inbound = new Inbound(h.redis, h.keys, config, silentLogger(), h.ledger);
  const reply = {
    message_id: 'in-1',
    from: phone(1).slice(1),
    itime: Math.floor(Date.now() / 1000),
    response: {
      event: 'reply',
      response_data: { message: { type: 'text', text: 'yes' }, message_context: { origin_message_id: 'mid-o-1' } },
    },
  } as unknown as CallbackRow;
  expect(await inbound.apply(reply)).toContain('reply');
}

const ids = (jsonl: string) =>
  jsonl
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as MessageRecord).request_id);

describe('export by outcome', () => {
  it('keeps the messages each filter names, and refuses a bad filter naming it', async () => {
    const config = testConfig();
    await seed(config);
    const env = envOf(config);
    const exported = async (...args: string[]) => {
      const r = await runCli(['export', '--campaign', 'out', ...args], env);
      expect([r.code, r.stderr]).toEqual([0, '']);
      return ids(r.stdout);
    };
    expect(await exported()).toEqual(['o-0', 'o-1', 'o-2', 'o-3', 'o-4', 'o-5', 'o-6']);
    expect(await exported('--delivery', 'not_read')).toEqual(['o-1', 'o-2']);
    expect(await exported('--delivery', 'not_delivered')).toEqual(['o-2', 'o-3']);
    expect(await exported('--delivery', 'failed')).toEqual(['o-3']);
    expect(await exported('--delivery', 'replied')).toEqual(['o-1']);
    expect(await exported('--delivery', 'failed,replied')).toEqual(['o-1', 'o-3']);
    expect(await exported('--status', 'dead,skipped')).toEqual(['o-4', 'o-5']);
    expect(await exported('--status', 'pending')).toEqual(['o-6']);
    expect(await exported('--status', 'dead', '--status', 'skipped')).toEqual(['o-4', 'o-5']);
    expect(await exported('--reason', 'suppressed')).toEqual(['o-5']);
    expect(await exported('--code', '4001')).toEqual(['o-4']);
    expect(await exported('--code', '131026,4001', '--status', 'sent')).toEqual(['o-3']);
    expect(await exported('--status', 'sent', '--delivery', 'replied')).toEqual(['o-1']);

    const record = JSON.parse((await runCli(['result', 'o-1', '--json'], env)).stdout) as MessageRecord;
    expect(record.custom_args).toEqual({ name: 'N, 1', order: 1 });
    expect(Date.parse(record.replied_at ?? '')).toBeGreaterThan(0);

    for (const [args, error] of [
      [['--status', 'sent,gone'], '--status: expected pending, sent, dead, skipped; got "gone"'],
      [['--delivery', 'unread'], '--delivery: expected failed, not_delivered, not_read, replied; got "unread"'],
      [['--code', '40x1'], '--code: expected an error code (an integer), got "40x1"'],
      [['--reason', 'late'], '--reason: expected permanent,'],
      [['--rejected', '--status', 'sent'], '--rejected lists refused lines'],
    ] as const) {
      const r = await runCli(['export', '--campaign', 'out', ...args], env);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toContain(`wa-bulk: ${error}`);
    }
  });

  it('writes an audience that enqueue reads as a new campaign: the matching recipients with their custom_args', async () => {
    const config = testConfig();
    await seed(config);
    const env = envOf(config);
    const audience = await runCli(
      ['export', '--campaign', 'out', '--status', 'sent', '--delivery', 'not_read', '--format', 'audience'],
      env,
    );
    expect(audience.code).toBe(0);
    expect(audience.stdout).toBe(
      `to,arg_name,arg_order\n${phone(1).slice(1)},"N, 1",1\n${phone(2).slice(1)},"N, 2",2\n`,
    );

    const file = tempFile(audience.stdout, 'not-read.csv');
    const enqueued = await runCli(
      [
        'enqueue',
        file,
        '--format',
        'csv',
        '--campaign',
        'reminder',
        '--template',
        'reminder',
        '--language',
        'en',
        '--no-preflight',
        '--json',
      ],
      env,
    );
    expect([enqueued.code, enqueued.stderr]).toEqual([0, '']);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ accepted: 2, rejected: 0, duplicates: 0 });
    const follow = (await runCli(['export', '--campaign', 'reminder'], env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as MessageRecord);
    expect(follow.map((r) => [r.to, r.status, r.custom_args])).toEqual([
      [phone(1).slice(1), 'pending', { name: 'N, 1', order: '1' }],
      [phone(2).slice(1), 'pending', { name: 'N, 2', order: '2' }],
    ]);
    // New messages of their own, not the source campaign's.
    expect(follow.map((r) => r.request_id)).not.toContain('o-1');
  });
});

describe('GET /api/campaigns/:id/messages', () => {
  it('pages through the filtered messages in ledger order with an opaque cursor, and refuses bad queries', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    await seed(config);
    const dashboard = await stack.startDashboard(config, startDashboard);
    const get = (query: string) => fetch(`${dashboard.url}/api/campaigns/out/messages?${query}`, { headers: auth });

    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const res = await get(`delivery=not_delivered,replied&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { campaign: string; messages: MessageRecord[]; next_cursor: string | null };
      expect(page.campaign).toBe('out');
      expect(page.messages.length).toBeLessThanOrEqual(1);
      seen.push(...page.messages.map((m) => m.request_id));
      cursor = page.next_cursor;
      if (++pages > 10) throw new Error('the cursor does not end');
    }
    expect(seen).toEqual(['o-1', 'o-2', 'o-3']);

    const all = (await (await get('status=sent&code=131026')).json()) as { messages: MessageRecord[] };
    expect(all).toMatchObject({
      messages: [{ request_id: 'o-3', delivery: { status: 'failed', error_code: 131026 } }],
    });
    expect(await (await get('')).json()).toMatchObject({ next_cursor: null });

    for (const [query, error] of [
      ['status=lost', 'query status: expected pending, sent, dead, skipped; got "lost"'],
      ['limit=0', 'query limit: expected an integer from 1 to 1000'],
      ['limit=1001', 'query limit: expected an integer from 1 to 1000'],
      ['cursor=abc', 'query cursor: not a cursor this API gave'],
    ]) {
      const res = await get(query as string);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain(error);
    }
    // The export download takes the same filters, and gives the same audience as the command line.
    const download = (query: string) =>
      fetch(`${dashboard.url}/api/campaigns/out/export?${query}`, { headers: auth }).then((r) => r.text());
    expect(ids(await download('delivery=failed,replied'))).toEqual(['o-1', 'o-3']);
    expect(await download('status=sent&delivery=not_read&format=audience')).toBe(
      `to,arg_name,arg_order\n${phone(1).slice(1)},"N, 1",1\n${phone(2).slice(1)},"N, 2",2\n`,
    );
    const badExport = await fetch(`${dashboard.url}/api/campaigns/out/export?code=x`, { headers: auth });
    expect([badExport.status, await badExport.json()]).toEqual([
      400,
      { error: 'query code: expected an error code (an integer), got "x"' },
    ]);
    const unknown = await fetch(`${dashboard.url}/api/campaigns/nope/messages`, { headers: auth });
    expect(unknown.status).toBe(404);
  });
});
