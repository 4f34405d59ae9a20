import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CampaignClosedError } from '../../producers/campaign-open.js';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { localMinutes, timeZoneOf } from '../../src/messages/timezone.js';
import { freePort } from '../../src/dev/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, until } from '../helpers/env.js';
import { useStack, type StackOptions } from '../helpers/stack.js';
import { startDashboard } from '../helpers/contract.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** Campaign control with real workers, the real CLI and the simulator. */

const stack = useStack();

/** The test's stack, its simulator recording when each request_id arrived. */
async function recording(options: StackOptions = {}) {
  const { sim, config, h, env } = await stack.start({ simulator: {}, ...options });
  const seen: Array<{ at: number; id: string }> = [];
  sim.setOverride((body) => {
    seen.push({ at: Date.now(), id: String(body?.request_id) });
    return undefined;
  });
  return { seen, sim, config, h, env };
}

const messages = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ to: phone(from + i), body: BODIES.otp, request_id: `${prefix}-${i}` }));

describe('campaign control', () => {
  it('--at: nothing leaves before the time; status says scheduled with it', async () => {
    const { seen, config, h } = await recording();
    const env = envOf(config);
    const enqueuedAt = Date.now();
    const res = await runCli(
      ['enqueue', tempFile(jsonl(messages('at', 5))), '--campaign', 'later', '--at', '+3s', '--json'],
      env,
    );
    expect(JSON.parse(res.stdout)).toMatchObject({ accepted: 5 });
    await stack.startWorker();
    const status = JSON.parse((await runCli(['status', '--campaign', 'later', '--json'], env)).stdout);
    expect(status.campaign).toMatchObject({ state: 'scheduled', at: expect.stringMatching(/^\d{4}-/) });
    expect(Date.parse(status.campaign.at)).toBeGreaterThanOrEqual(enqueuedAt + 3000);
    await campaignDone(h.ledger, 'later', 20_000);
    expect(seen).toHaveLength(5);
    for (const s of seen) expect(s.at).toBeGreaterThanOrEqual(Date.parse(status.campaign.at));
  });

  it("--send-window: a recipient whose local time is outside waits for the window's opening; one inside is sent", async () => {
    const { seen, config, h } = await recording();
    // New York and Tokyo are 13 or 14 hours apart: a window of two hours around New York's local time now
    // leaves Tokyo outside, whatever the time of the test.
    const inside = '+12125550123';
    const outside = '+81312345678';
    const [nyZone, tokyoZone] = [await timeZoneOf('12125550123'), await timeZoneOf('81312345678')];
    expect([nyZone, tokyoZone]).toEqual(['America/New_York', 'Asia/Tokyo']);
    const ny = localMinutes(Date.now(), nyZone as string);
    const hhmm = (m: number) =>
      `${String(Math.floor(((m + 1440) % 1440) / 60)).padStart(2, '0')}:${String(((m + 1440) % 1440) % 60).padStart(2, '0')}`;
    const window = `${hhmm(ny - 60)}-${hhmm(ny + 60)}`;
    const file = tempFile(
      jsonl([
        { to: inside, body: BODIES.otp, request_id: 'ny' },
        { to: outside, body: BODIES.otp, request_id: 'tokyo' },
      ]),
    );
    await runCli(['enqueue', file, '--campaign', 'window', '--send-window', window], envOf(config));
    await stack.startWorker();
    await until(() => seen.some((s) => s.id === 'ny'), 10_000);
    await until(async () => (await h.send.getDelayedCount()) === 1, 10_000);
    const [delayed] = await h.send.getJobs(['delayed']);
    expect(delayed?.data.request_id).toBe('tokyo');
    // It wakes when the window opens in Tokyo (within a minute of it), not sooner.
    const opensIn = ((ny - 60 - localMinutes(Date.now(), 'Asia/Tokyo') + 1440 * 2) % 1440) * 60_000;
    const wakesIn = (delayed?.timestamp ?? 0) + (delayed?.delay ?? 0) - Date.now();
    expect(Math.abs(wakesIn - opensIn)).toBeLessThan(120_000);
    expect(seen.map((s) => s.id)).toEqual(['ny']);
  });

  it('--expires-*: a message not sent by then is never sent and is counted skipped/expired, paused campaign included', async () => {
    const { seen, config, h } = await recording();
    const env = envOf(config);
    // Scheduled after its own expiry would be refused; scheduled 3 s out with a 1 s life: never sent.
    const bad = await runCli(
      ['enqueue', tempFile(jsonl(messages('x', 1))), '--campaign', 'x', '--at', '+3s', '--expires-in', '1s'],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('wa-bulk: --expires-in: the campaign would expire before it starts\n');
    await runCli(['enqueue', tempFile(jsonl(messages('exp', 3))), '--campaign', 'expiring', '--expires-in', '2s'], env);
    await runCli(['pause', '--campaign', 'expiring'], env);
    await stack.startWorker();
    await campaignDone(h.ledger, 'expiring', 20_000);
    expect(await h.ledger.campaign('expiring')).toMatchObject({ total: 3, sent: 0, skipped: 3 });
    expect(await h.ledger.get('exp-0')).toMatchObject({ status: 'skipped', error: { reason: 'expired' }, attempts: 0 });
    expect(seen).toHaveLength(0);
  });

  it('--priority high overtakes a low backlog under the same limits', async () => {
    const { seen, h } = await recording({
      config: { SENDER_RATE_MAX: 10, SEND_RATE_MAX: 10, WORKER_CONCURRENCY: 4 },
    });
    const send = (campaign: string, list: unknown[], priority: 'high' | 'low') =>
      enqueue(itemsOfArray(list), { campaign, ledger: h.ledger, queue: h.send, control: { priority } });
    await send('bulk', messages('bulk', 100), 'low');
    await stack.startWorker();
    await until(() => seen.length >= 5, 10_000);
    const sentBefore = seen.length;
    await send('otp', messages('otp', 4, 200), 'high');
    await campaignDone(h.ledger, 'otp', 20_000);
    const order = seen.map((s) => s.id);
    const otps = order.map((id, i) => [id, i] as const).filter(([id]) => id.startsWith('otp-'));
    expect(otps).toHaveLength(4);
    // Only the jobs the lane's worker already held (WORKER_CONCURRENCY) and one in flight pass them.
    for (const [, i] of otps) expect(i - sentBefore).toBeLessThan(4 + 4 + 1);
    // …while most of the low backlog still waits.
    expect((await h.ledger.campaign('bulk'))?.pending).toBeGreaterThan(50);
  });

  it('cancel under load: after it returns no further request of the campaign leaves but those in flight; idempotent', async () => {
    const { seen, config, h, sim } = await recording({
      simulator: { latencyMs: 30 },
      config: { SENDER_RATE_MAX: 50, SEND_RATE_MAX: 50, WORKER_CONCURRENCY: 10 },
    });
    const env = envOf(config);
    await runCli(['enqueue', tempFile(jsonl(messages('c', 200))), '--campaign', 'doomed'], env);
    await stack.startWorker();
    await until(() => seen.length >= 20, 10_000);
    const cancelled = await runCli(['cancel', '--campaign', 'doomed', '--json'], env);
    const returnedAt = Date.now();
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ campaign: 'doomed', state: 'cancelled' });
    await campaignDone(h.ledger, 'doomed', 20_000);
    // Requests already granted may still arrive (at most the lane's in-flight requests).
    expect(seen.filter((s) => s.at > returnedAt + 50).length).toBeLessThanOrEqual(config.WORKER_CONCURRENCY);
    const counts = await h.ledger.campaign('doomed');
    expect(counts).toMatchObject({ state: 'cancelled', pending: 0, dead: 0 });
    expect((counts?.sent ?? 0) + (counts?.skipped ?? 0)).toBe(200);
    expect(counts?.sent).toBe(sim.getStats().accepted);
    const again = await runCli(['cancel', '--campaign', 'doomed', '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ skipped_now: 0 });
    const unknown = await runCli(['cancel', '--campaign', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^wa-bulk: no campaign "nope"/);
  });

  it('opt-outs: suppressed numbers get no request, one suppressed mid-campaign included; STOP suppresses its sender', async () => {
    const { seen, config, h, sim } = await recording({
      simulator: (dashboardUrl) => ({ callbackUrl: `${dashboardUrl}/callbacks/engagelab` }),
      config: {
        SENDER_RATE_MAX: 10,
        SEND_RATE_MAX: 10,
      },
    });
    const env = envOf(config);
    expect((await runCli(['suppress', 'add', '+44 7910 100 001', '00447910100002'], env)).stdout).toBe(
      'suppressed: 2 number(s)\n',
    );
    const res = JSON.parse(
      (await runCli(['enqueue', tempFile(jsonl(messages('o', 30))), '--campaign', 'optout', '--json'], env)).stdout,
    );
    expect(res).toMatchObject({ accepted: 28, suppressed: 2 });
    await stack.startDashboard();
    await stack.startWorker();
    // Recipient 20 writes STOP while the campaign runs.
    await until(() => seen.length >= 5, 10_000);
    expect(await sim.inbound([phone(20).slice(1)], undefined, ' stop ')).toBe(200);
    await until(async () => (await h.redis.sismember(h.keys.suppressed, phone(20).slice(1))) === 1, 5000);
    await campaignDone(h.ledger, 'optout', 20_000);
    expect(seen.map((s) => s.id)).not.toEqual(expect.arrayContaining(['o-1', 'o-2', 'o-20']));
    expect(await h.ledger.get('o-20')).toMatchObject({ status: 'skipped', error: { reason: 'suppressed' } });
    expect(await h.ledger.get('o-1')).toBeUndefined();
    const listed = (await runCli(['suppress', 'list'], env)).stdout.trim().split('\n').sort();
    expect(listed).toEqual([phone(1), phone(2), phone(20)].map((p) => p.slice(1)).sort());
  });

  it('CAMPAIGN_WEBHOOK_URL receives one campaign.done per campaign', async () => {
    const posts: unknown[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      // The first delivery fails: it is retried.
      req.on('end', () => {
        posts.push(JSON.parse(body));
        res.writeHead(posts.length === 1 ? 503 : 200).end();
      });
    });
    stack.defer(() => hook.close());
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const { config, h } = await recording({
      config: {
        DASHBOARD_PORT: await freePort(),
        CAMPAIGN_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/done`,
      },
    });
    await runCli(['enqueue', tempFile(jsonl(messages('w', 3))), '--campaign', 'hooked'], envOf(config));
    await stack.startDashboard();
    await stack.startWorker();
    await campaignDone(h.ledger, 'hooked');
    await until(() => posts.length === 2, 20_000);
    await new Promise((r) => setTimeout(r, 5000));
    expect(posts).toHaveLength(2);
    expect(posts[1]).toMatchObject({
      event: 'campaign.done',
      campaign: { id: 'hooked', total: 3, sent: 3, state: 'done' },
    });
  });

  it('refuses bad campaign options with one line and exit 2 (400 over the API); a window across midnight is fine', async () => {
    const { h, env } = await stack.start({ config: { DASHBOARD_PORT: 0 } });
    const file = tempFile(jsonl(messages('b', 1)));
    const cases: Array<[string[], string]> = [
      [
        ['--at', 'tomorrow'],
        '--at: expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or +30m, got "tomorrow"',
      ],
      [
        ['--at', '2026-12-24T09:00:00'],
        '--at: expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or +30m, got "2026-12-24T09:00:00"',
      ],
      [
        ['--send-window', '9-21'],
        '--send-window: expected HH:MM-HH:MM of the recipient\'s local time (e.g. 09:00-21:00), got "9-21"',
      ],
      [['--send-window', '09:00-09:00'], '--send-window: the window "09:00-09:00" is empty (it starts where it ends)'],
      [['--priority', 'urgent'], '--priority: expected high, normal or low, got "urgent"'],
      [['--expires-in', 'soon'], '--expires-in: expected a duration such as 90s, 10m, 2h or 1d, got "soon"'],
    ];
    for (const [flags, error] of cases) {
      const res = await runCli(['enqueue', file, '--campaign', 'bad', ...flags], env);
      expect({ flags, code: res.code, stderr: res.stderr }).toEqual({ flags, code: 2, stderr: `wa-bulk: ${error}\n` });
    }
    const past = await runCli(
      ['enqueue', file, '--campaign', 'past', '--at', '2020-01-01T00:00:00Z', '--send-window', '20:00-02:00', '--json'],
      env,
    );
    expect(past.code).toBe(0);
    expect(past.stderr).toBe('wa-bulk: --at: 2020-01-01T00:00:00Z is in the past; sending now\n');
    expect((await h.ledger.campaign('past'))?.send_window).toBe('20:00-02:00');

    const dashboard = await stack.startDashboard();
    const post = (query: string) =>
      fetch(`${dashboard.url}/api/campaigns/api/messages?${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(messages('api', 1)),
      });
    const refused = await post('priority=urgent');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'priority: expected high, normal or low, got "urgent"' });
    expect((await post('send_window=25:00-01:00')).status).toBe(400);
    const ok = await post('priority=high&expires_in=1h');
    expect(ok.status).toBe(200);
    expect((await h.ledger.campaign('api'))?.priority).toBe('high');
    const cancelUnknown = await fetch(`${dashboard.url}/api/campaigns/nope/cancel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(cancelUnknown.status).toBe(404);
  });

  it('a cancelled campaign takes no more messages: the API answers 409, the CLI and the library refuse, nothing is enqueued', async () => {
    const { config, h, dashboard } = await stack.start({ dashboard: startDashboard });
    const env = envOf(config);
    const post = (campaign: string, body: unknown[]) =>
      fetch(`${dashboard.url}/api/campaigns/${campaign}/messages?preflight=false`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('w9', messages('w9', 1))).status).toBe(200);
    const cancel = await fetch(`${dashboard.url}/api/campaigns/w9/cancel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(cancel.status).toBe(200);

    const late = await post('w9', messages('late', 1));
    expect(late.status).toBe(409);
    expect(await late.json()).toEqual({
      error: 'campaign "w9" is cancelled: its messages would all be skipped; name another campaign',
      campaign: 'w9',
      state: 'cancelled',
    });
    const cli = await runCli(['enqueue', tempFile(jsonl(messages('cli', 1))), '--campaign', 'w9'], env);
    expect({ code: cli.code, stdout: cli.stdout, stderr: cli.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'wa-bulk: campaign "w9" is cancelled: its messages would all be skipped; name another campaign\n',
    });
    await expect(
      enqueue(itemsOfArray(messages('lib', 1)), { campaign: 'w9', ledger: h.ledger, queue: h.send }),
    ).rejects.toBeInstanceOf(CampaignClosedError);
    expect(await h.ledger.campaign('w9')).toMatchObject({ total: 1, state: 'cancelled' });
    for (const id of ['late-0', 'cli-0', 'lib-0']) expect(await h.ledger.get(id)).toBeUndefined();
  });

  it('a pause answers the campaign as GET does; a done or cancelled campaign is not paused (409, CLI exit 1)', async () => {
    const { config, h, dashboard } = await stack.start({ simulator: {}, dashboard: startDashboard, worker: true });
    const env = envOf(config);
    const control = (campaign: string, action: string, body: object = {}) =>
      fetch(`${dashboard.url}/api/campaigns/${campaign}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const view = async (campaign: string) => (await fetch(`${dashboard.url}/api/campaigns/${campaign}`)).json();

    await enqueue(itemsOfArray(messages('later', 1)), {
      campaign: 'later',
      ledger: h.ledger,
      queue: h.send,
      control: { notBefore: Date.now() + 3_600_000, priority: 'normal' },
    });
    const paused = await control('later', 'pause', { reason: 'late' });
    expect(paused.status).toBe(200);
    const answer = await paused.json();
    expect(answer).toMatchObject({ id: 'later', state: 'paused', paused: true, pause_reason: 'late' });
    expect(answer).toEqual(await view('later'));

    await enqueue(itemsOfArray(messages('pd', 1)), { campaign: 'pd', ledger: h.ledger, queue: h.send });
    await campaignDone(h.ledger, 'pd');
    const done = await control('pd', 'pause', { reason: 'late' });
    expect(done.status).toBe(409);
    expect(await done.json()).toEqual({
      error: 'campaign "pd" is done (no message of it is pending): there is nothing to pause',
      campaign: 'pd',
      state: 'done',
    });
    expect(await view('pd')).toMatchObject({ state: 'done', paused: false, pause_reason: null });
    const cli = await runCli(['pause', '--campaign', 'pd', '--reason', 'late'], env);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({
      code: 1,
      stderr: 'wa-bulk: campaign "pd" is done (no message of it is pending): there is nothing to pause\n',
    });
    // The next enqueue into it is sent, not parked.
    await enqueue(itemsOfArray(messages('pd-more', 1)), { campaign: 'pd', ledger: h.ledger, queue: h.send });
    await campaignDone(h.ledger, 'pd');
    expect(await h.ledger.get('pd-more-0')).toMatchObject({ status: 'sent' });

    expect((await control('later', 'cancel')).status).toBe(200);
    const cancelled = await control('later', 'pause');
    expect(cancelled.status).toBe(409);
    expect(await cancelled.json()).toMatchObject({ campaign: 'later', state: 'cancelled' });
    expect(await view('later')).toMatchObject({ state: 'cancelled', paused: false });
  });
});
