import { expect, it } from '@jest/globals';
import { userInfo } from 'node:os';
import pg from 'pg';
import { ApiKeys } from '../../src/access/keys.js';
import { AuditLog, type AuditEntry } from '../../src/access/audit.js';
import { usePostgres } from '../helpers/postgres.js';
import { BODIES, phone } from '../fixtures/messages.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

/**
 * The audit log over a scripted day: a send key enqueues, the operator pauses from the page, the CLI cancels,
 * the quality guard pauses a sender, a notification nobody expected pauses sending, a stranger tries a key;
 * then Redis lets the log go and PostgreSQL still has it.
 */

const postgres = usePostgres('audit tests');

const PASSWORD = 'correct horse battery staple';
const basic = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const FROM = '8613800138001';

const stack = useStack();

async function archived(space: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM wa_bulk_audit WHERE space = $1',
      [space],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

postgres.suite('the audit log', () => {
  it('shows who did what over a day, and keeps it in PostgreSQL after Redis lets it go', async () => {
    const { config, h, dashboard } = await stack.start({
      simulator: {},
      config: { DASHBOARD_PASSWORD: PASSWORD, DATABASE_URL: postgres.url, SENDER_RATE_MAX: 100 },
      dashboard: true,
      worker: true,
    });
    const url = dashboard.url;
    const shop = await new ApiKeys(h.redis, h.keys).create({ name: 'shop', role: 'send', by: 'test' });

    // The shop enqueues order updates with its send key.
    const messages = [1, 2].map((i) => ({ to: phone(i), body: BODIES.otp, from: FROM, request_id: `day-${i}` }));
    const enqueued = await fetch(`${url}/api/campaigns/orders/messages?preflight=false`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${shop.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(messages),
    });
    expect(enqueued.status).toBe(200);
    await campaignDone(h.ledger, 'orders');
    // A campaign for tonight, paused from the page, then cancelled from the command line.
    const tonight = await fetch(`${url}/api/campaigns/tonight/messages?preflight=false&at=%2B2h`, {
      method: 'POST',
      headers: { ...basic, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ to: phone(3), body: BODIES.otp, request_id: 'tonight-1' }]),
    });
    expect(tonight.status).toBe(200);
    const pause = await fetch(`${url}/api/campaigns/tonight/pause`, {
      method: 'POST',
      headers: { ...basic, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'wrong offer text' }),
    });
    expect(pause.status).toBe(200);
    const cancel = await runCli(['cancel', '--campaign', 'tonight'], envOf(config));
    expect(cancel.code).toBe(0);
    // Meta says the shop's number is sending spam: the quality guard pauses its lane.
    const mid = (await h.ledger.get('day-1'))?.message_id as string;
    const callback = (rows: unknown[]) =>
      fetch(`${url}/callbacks/engagelab`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ total: rows.length, rows }),
      });
    const spam = {
      message_id: mid,
      from: FROM,
      to: phone(1).slice(1),
      itime: Math.floor(Date.now() / 1000),
      status: {
        message_status: 'delivered_failed',
        error_code: 131048,
        error_detail: { message: 'Meta 131048' },
        loss: { loss_step: 3, loss_source: 'meta' },
      },
    };
    expect((await callback([spam])).status).toBe(200);
    // A notification that looks forged (wa-bulk cannot tell): it pauses sending, and the log says what did.
    expect((await callback([{ notification: { event: 'insufficient_balance' } }])).status).toBe(200);
    // The dashboard applies callbacks after answering them: wait for both effects to be recorded.
    await until(async () => (await h.redis.xlen(h.keys.audit)) >= 6);
    // Someone tries a key they guessed, and a password.
    expect((await fetch(`${url}/api/campaigns`, { headers: { Authorization: 'Bearer wab_guess' } })).status).toBe(401);
    const wrong = { Authorization: `Basic ${Buffer.from('admin:not-the-password').toString('base64')}` };
    expect((await fetch(`${url}/api/campaigns`, { headers: wrong })).status).toBe(401);

    const actions = (entries: AuditEntry[] | Array<Omit<AuditEntry, 'id'>>) =>
      entries.map((e) => [e.actor, e.action, e.target, e.outcome]);
    const expected = [
      ['shop', 'messages.enqueue', 'orders', 'ok'],
      ['dashboard', 'messages.enqueue', 'tonight', 'ok'],
      ['dashboard', 'campaign.pause', 'tonight', 'ok'],
      [`cli:${userInfo().username}`, 'campaign.cancel', 'tonight', 'ok'],
      ['system:quality-guard', 'lane.pause', FROM, 'ok'],
      ['system:callback-notification', 'sending.pause', null, 'ok'],
      ['unknown', 'auth.refused', 'GET /api/campaigns', 'refused 401'],
      ['unknown', 'auth.refused', 'GET /api/campaigns', 'refused 401'],
    ];
    let entries: AuditEntry[] = [];
    await until(async () => {
      entries = ((await (await fetch(`${url}/api/audit`, { headers: basic })).json()) as { entries: AuditEntry[] })
        .entries;
      return entries.length >= expected.length;
    });
    expect(actions(entries)).toEqual(expected);
    const [enqueue, , page, cli, , notification, refusedKey, refusedLogin] = entries as AuditEntry[];
    expect(enqueue?.params).toMatchObject({ accepted: 2, query: { preflight: 'false' } });
    expect(enqueue?.ip).toMatch(/127\.0\.0\.1/);
    expect(page?.params).toMatchObject({ body: { reason: 'wrong offer text' } });
    expect(cli?.params).toMatchObject({ campaign: 'tonight' });
    expect(notification?.params).toMatchObject({ event: 'insufficient_balance' });
    expect(refusedKey?.params).toEqual({ scheme: 'bearer', reason: 'malformed' });
    expect(refusedLogin?.params).toEqual({ scheme: 'basic' });
    expect(JSON.stringify(entries)).not.toContain('not-the-password');
    expect(JSON.stringify(entries)).not.toContain(shop.key);
    // Who did what to one campaign, and what one key did.
    const byShop = await runCli(['audit', '--actor', 'shop', '--json'], envOf(config));
    expect(
      byShop.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).action),
    ).toEqual(['messages.enqueue']);

    // The campaigns page names who last paused, resumed or cancelled each campaign.
    const beside = (await (await fetch(`${url}/api/audit/campaigns`, { headers: basic })).json()) as {
      campaigns: Record<string, { actor: string; action: string; at: string }>;
    };
    expect(beside.campaigns).toEqual({
      tonight: { actor: `cli:${userInfo().username}`, action: 'campaign.cancel', at: cli?.at },
    });

    // Redis lets the log go (RESULT_TTL_DAYS); PostgreSQL keeps it.
    await until(async () => (await archived(config.QUEUE_PREFIX)) >= expected.length);
    await h.redis.del(h.keys.audit);
    const later = await runCli(['audit', '--json'], envOf(config));
    expect(later.code).toBe(0);
    const kept = later.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Omit<AuditEntry, 'id'>);
    expect(actions(kept)).toEqual(expected);
    expect(kept[0]).toEqual({ ...(({ id: _id, ...rest }) => rest)(entries[0] as AuditEntry) });
  }, 60_000);

  it('--limit and limit= give the newest entries, oldest first, and say that older ones match too', async () => {
    const { config, h, dashboard } = await stack.start({
      config: { DASHBOARD_PASSWORD: PASSWORD, DATABASE_URL: postgres.url },
      dashboard: true,
    });
    const audit = new AuditLog(h.redis, h.keys, 86_400_000);
    const start = Date.now() - 60_000;
    for (let i = 1; i <= 6; i++)
      await audit.record({ at: start + i * 1000, actor: 'ops', action: `step.${i}`, outcome: 'ok', params: {} });
    // The three oldest only in PostgreSQL (Redis let them go), the rest in both.
    await until(async () => (await archived(config.QUEUE_PREFIX)) >= 6);
    const ids = (await h.redis.xrange(h.keys.audit, '-', '+')).map(([id]) => id);
    await h.redis.xdel(h.keys.audit, ...ids.slice(0, 3));

    const cli = await runCli(['audit', '--actor', 'ops', '--limit', '3'], envOf(config));
    expect(cli.code).toBe(0);
    expect(
      cli.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('  ')[2]),
    ).toEqual(['step.4', 'step.5', 'step.6']);
    expect(cli.stderr).toBe(
      '3 entries\nmore entries match: these are the newest 3; see older ones with --since, --actor or --target, or a higher --limit\n',
    );
    const all = await runCli(['audit', '--actor', 'ops', '--limit', '6', '--json'], envOf(config));
    expect(
      all.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).action),
    ).toEqual([1, 2, 3, 4, 5, 6].map((i) => `step.${i}`));
    expect(all.stderr).toBe('');

    const read = async (query: string) =>
      (await (await fetch(`${dashboard.url}/api/audit?actor=ops&${query}`, { headers: basic })).json()) as {
        entries: AuditEntry[];
        more: boolean;
      };
    const newest = await read('limit=4');
    expect([newest.entries.map((e) => e.action), newest.more]).toEqual([
      ['step.3', 'step.4', 'step.5', 'step.6'],
      true,
    ]);
    const every = await read('limit=6');
    expect([every.entries.length, every.more]).toEqual([6, false]);
  }, 60_000);
});
