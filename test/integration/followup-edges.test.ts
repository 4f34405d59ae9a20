import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { Queue } from 'bullmq';
import { enqueue } from '../../producers/enqueue.js';
import { createFollowup, followupInput, FOLLOWUP_FIELDS } from '../../producers/followups.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { Followups } from '../../src/campaigns/followups.js';
import type { Dashboard } from '../../src/http/dashboard.js';
import { FOLLOWUP_QUEUE, openQueue, type FollowupJob } from '../../src/queue.js';
import type { ChildProcess } from 'node:child_process';
import { runCli, startCli } from '../helpers/cli.js';
import { contract, startDashboard } from '../helpers/contract.js';
import { EngageLabClient } from '../../src/engagelab/client.js';
import { Fatigue } from '../../src/recipients/fatigue.js';
import { TemplateCategories } from '../../src/recipients/template-categories.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { parseRateCard } from '../../src/preflight/cost.js';
import { preflightFromConfig } from '../../src/preflight/preflight.js';
import { evaluateFollowup, writtenIn } from '../../workers/followup-worker.js';
import {
  collect,
  envOf,
  harness,
  silentLogger,
  startSimulator,
  testConfig,
  until,
  type Harness,
} from '../helpers/env.js';
import { BODIES, phone } from '../fixtures/messages.js';

/**
 * Follow-ups at their edges: times no date holds or past the source's keeping, a rule that cannot be scheduled,
 * stored records written before they were checked, rules made at the same time at the cap, counts after an
 * interrupted evaluation, sources gone and targets cancelled, placeholders as whole links or numbers, templates
 * EngageLab does not have, and the cost of a follow-up campaign.
 */

let h: Harness | undefined;
let dashboard: Dashboard | undefined;
let sim: Simulator | undefined;
let client: EngageLabClient | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  client?.close();
  await sim?.stop();
  sim = client = undefined;
  await dashboard?.close();
  dashboard = undefined;
  await h?.close();
  h = undefined;
});

const PASSWORD = 'followup-edges-password';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

/** A source campaign `src` of `n` text messages, enqueued. */
async function source(harnessed: Harness, n = 1, campaign = 'src'): Promise<void> {
  const messages = Array.from({ length: n }, (_, i) => ({
    to: phone(i),
    body: BODIES.text,
    request_id: `${campaign}-${i}`,
    custom_args: { name: `Ada ${i}` },
  }));
  await enqueue(itemsOfArray(messages), { campaign, ledger: harnessed.ledger, queue: harnessed.send });
}

/**
 * The set-up of most tests: a harness on `config` with a source campaign `src` of `n` text messages enqueued.
 * It is kept in `h` as soon as it is made, so that afterEach closes it even when the enqueue fails.
 */
async function withSource(config: ReturnType<typeof testConfig>, n = 1): Promise<Harness> {
  h = harness(config);
  await source(h, n);
  return h;
}

/** A rule as an older version could store it, with a due time past any date: its id. */
async function storeUnshowable(harnessed: Harness): Promise<string> {
  const bad = 'fu_bad0000000';
  await harnessed.redis
    .multi()
    .hset(harnessed.keys.followup(bad), {
      id: bad,
      from: 'src',
      where: 'failed',
      campaign: 'c3',
      message: '{"text":"x"}',
      due_at: '8.64e+21',
      state: 'scheduled',
      created_at: String(Date.now()),
      created_by: 'test',
    })
    .zadd(harnessed.keys.followups, Date.now(), bad)
    .exec();
  return bad;
}

/** A client of the simulator, whose template catalog has `comeback` (en, MARKETING). */
async function catalogClient(config: ReturnType<typeof testConfig>): Promise<EngageLabClient> {
  sim = await startSimulator({
    templateCatalog: [{ name: 'comeback', language: 'en', status: 'APPROVED', category: 'MARKETING' }],
  });
  client = new EngageLabClient({
    baseUrl: sim.url,
    key: config.ENGAGELAB_DEV_KEY as string,
    secret: config.ENGAGELAB_DEV_SECRET as string,
    timeoutMs: 5000,
    retries: 0,
    minRetryMs: 10,
    maxRetryMs: 10,
  });
  return client;
}

/** A rule made as the command line makes it; its id. */
async function rule(harnessed: Harness, raw: Parameters<typeof followupInput>[0]): Promise<string> {
  const queue = openQueue<FollowupJob>(harnessed.redis, harnessed.keys.prefix, FOLLOWUP_QUEUE);
  try {
    const created = await createFollowup(followupInput(raw, FOLLOWUP_FIELDS), {
      ledger: harnessed.ledger,
      followups: new Followups(harnessed.redis, harnessed.keys, 60_000),
      queue,
      actor: 'test',
    });
    if (!created.ok) throw new Error(created.error);
    return created.followup.id;
  } finally {
    await queue.close();
  }
}

describe('follow-up times', () => {
  it('refuses a due time no date can hold, naming the flag, and stores nothing; listings still answer', async () => {
    const config = testConfig({ DASHBOARD_PASSWORD: PASSWORD });
    const env = envOf(config);
    h = await withSource(config);
    const refused = await runCli(
      ['followup', '--from', 'src', '--where', 'failed', '--after', '99999999999d', '--campaign', 'c2', '--text', 'x'],
      env,
    );
    expect([refused.code, refused.stderr]).toEqual([
      2,
      'wa-bulk: --after: expected a duration of at most 3650d (ten years), got "99999999999d"\n',
    ]);
    expect(refused.stderr).not.toContain('Invalid time value');
    const expiry = await runCli(
      ['followup', '--from', 'src', '--where', 'failed', '--after', '1h', '--campaign', 'c2', '--text', 'x'].concat([
        '--expires-at',
        '+99999999999d',
      ]),
      env,
    );
    expect([expiry.code, expiry.stderr]).toEqual([
      2,
      'wa-bulk: --expires-at: expected a duration of at most 3650d (ten years), got "99999999999d"\n',
    ]);
    expect(await h.redis.zcard(h.keys.followups)).toBe(0);
    dashboard = await startDashboard(config, silentLogger());
    const api = await fetch(`${dashboard.url}/api/followups`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: 'src', where: 'failed', after: '99999999999d', campaign: 'c2', text: 'x' }),
    });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: string }).error).toBe(
      'after: expected a duration of at most 3650d (ten years), got "99999999999d"',
    );
    expect(await h.redis.zcard(h.keys.followups)).toBe(0);
  });

  it('lists every other rule, and the campaigns page answers, when a stored rule cannot be shown', async () => {
    const config = testConfig({ DASHBOARD_PASSWORD: PASSWORD });
    const env = envOf(config);
    h = await withSource(config);
    const good = await runCli(
      ['followup', '--from', 'src', '--where', 'failed', '--after', '1h', '--campaign', 'c2', '--text', 'x', '--json'],
      env,
    );
    expect(good.code).toBe(0);
    const goodId = (JSON.parse(good.stdout) as { id: string }).id;
    const bad = await storeUnshowable(h);
    const listed = await runCli(['followup', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(goodId);
    expect(listed.stderr).toContain(
      `follow-up ${bad} (scheduled) cannot be shown: its due_at (8.64e+21) is not a time`,
    );
    dashboard = await startDashboard(config, silentLogger());
    const api = await fetch(`${dashboard.url}/api/followups`, { headers: AUTH });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { followups: Array<{ id: string }>; invalid: Array<{ id: string }> };
    expect(body.followups.map((r) => r.id)).toEqual([goodId]);
    expect(body.invalid).toEqual([{ id: bad, state: 'scheduled', problem: expect.stringContaining('due_at') }]);
    const page = await fetch(`${dashboard.url}/campaigns`, { headers: AUTH });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(goodId);
    // It can still be cancelled, freeing its place.
    expect((await runCli(['followup', 'cancel', bad], env)).code).toBe(0);
  });

  it('answers a stored rule that cannot be shown, asked for by its id, with what is wrong, not "no such rule"', async () => {
    const config = testConfig({ DASHBOARD_PASSWORD: PASSWORD });
    h = await withSource(config);
    const bad = await storeUnshowable(h);
    dashboard = await startDashboard(config, silentLogger());
    const one = await fetch(`${dashboard.url}/api/followups/${bad}`, { headers: AUTH });
    expect(one.status).toBe(409);
    const listed = (await (await fetch(`${dashboard.url}/api/followups`, { headers: AUTH })).json()) as {
      invalid: Array<{ id: string; state: string; problem: string }>;
    };
    const [entry] = listed.invalid;
    expect(entry?.id).toBe(bad);
    expect(await one.json()).toEqual({
      ...entry,
      error: `follow-up ${bad} (scheduled) cannot be shown: its due_at (8.64e+21) is not a time; it has no due_at or created_at; POST /api/followups/${bad}/cancel cancels it`,
    });
    // An id never stored is still unknown.
    expect((await fetch(`${dashboard.url}/api/followups/fu_0000000000`, { headers: AUTH })).status).toBe(404);
    // Cancelled over HTTP, it answers as listed, now cancelled, and is refused a second time.
    const cancel = () =>
      fetch(`${dashboard?.url}/api/followups/${bad}/cancel`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
      });
    const cancelled = await cancel();
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({ ...entry, state: 'cancelled' });
    const again = await cancel();
    expect(again.status).toBe(409);
    expect(((await again.json()) as { state: string }).state).toBe('cancelled');
  });

  it('removes a rule it could not schedule, leaving no rule without its job', async () => {
    const config = testConfig();
    h = await withSource(config);
    const followups = new Followups(h.redis, h.keys, 60_000);
    // The queue's Redis gone between the rule's write and its job's.
    const unreachable = {
      add: () => Promise.reject(new Error('Connection is closed.')),
    } as unknown as Queue<FollowupJob>;
    const input = followupInput(
      { from: 'src', where: 'failed', after: '1h', campaign: 'c2', text: 'x' },
      FOLLOWUP_FIELDS,
    );
    await expect(
      createFollowup(input, { ledger: h.ledger, followups, queue: unreachable, actor: 'test' }),
    ).rejects.toThrow('Connection is closed.');
    expect(await followups.list()).toEqual([]);
    expect(await h.redis.zcard(h.keys.followups)).toBe(0);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    expect(await queue.getDelayedCount()).toBe(0);
    await queue.close();
  });
});

describe('follow-up counts', () => {
  it('counts as enqueued, not held, the recipients an interrupted evaluation already wrote, under FREQUENCY_CAP', async () => {
    const config = testConfig({ FREQUENCY_CAP: '1/7d' });
    h = await withSource(config, 5);
    const templates = await catalogClient(config);
    const fatigue = new Fatigue(h.redis, h.keys, config, new TemplateCategories((q) => templates.listTemplates(q)));
    const id = await rule(h, {
      from: 'src',
      where: 'pending',
      after: '1h',
      campaign: 'c2',
      template: 'comeback',
      language: 'en',
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const deps = {
      ledger: h.ledger,
      send: h.send,
      followups,
      fatigue,
      chunkSize: 1,
      written: writtenIn(h.redis, h.keys),
    };
    await expect(
      evaluateFollowup(
        {
          ...deps,
          beforeMessage: (index) => {
            if (index === 3) throw new Error('killed');
          },
        },
        id,
      ),
    ).rejects.toThrow('killed');
    await until(async () => ((await h?.ledger.campaign('c2'))?.total ?? 0) >= 2);
    // What was written went out meanwhile: each took (held) its recipient's one marketing place of the week.
    const written = await collect(h.ledger.export('c2'));
    for (const message of written)
      expect(await fatigue.check(message.request_id, message.to, { name: 'comeback', language: 'en' })).toEqual({
        kind: 'held',
      });
    expect(await evaluateFollowup(deps, id)).toEqual({ enqueued: 5, suppressed: 0, held: 0, rejected: 0 });
    expect(await followups.get(id)).toMatchObject({ state: 'done', enqueued: 5, held: 0 });
  });
});

describe('follow-up bounds', () => {
  it('never lets rules made at the same time pass 1,000 scheduled or evaluating', async () => {
    const config = testConfig();
    h = await withSource(config);
    // 995 rules scheduled or evaluating, written as create writes them.
    const pipeline = h.redis.pipeline();
    for (let i = 0; i < 995; i++) {
      const id = `fu_seed${String(i).padStart(6, '0')}`;
      pipeline
        .hset(h.keys.followup(id), {
          id,
          from: 'src',
          where: 'failed',
          campaign: 'c2',
          message: '{"text":"x"}',
          due_at: String(Date.now() + 3_600_000),
          state: i % 2 === 0 ? 'scheduled' : 'evaluating',
          created_at: String(Date.now()),
          created_by: 'test',
        })
        .zadd(h.keys.followups, i, id);
    }
    await pipeline.exec();
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const input = followupInput(
      { from: 'src', where: 'failed', after: '1h', campaign: 'c2', text: 'x' },
      FOLLOWUP_FIELDS,
    );
    const harnessed = h;
    const made = await Promise.all(
      Array.from({ length: 12 }, () =>
        createFollowup(input, {
          ledger: harnessed.ledger,
          followups: new Followups(harnessed.redis, harnessed.keys, 60_000),
          queue,
          actor: 'test',
        }),
      ),
    );
    await queue.close();
    expect(made.filter((m) => m.ok)).toHaveLength(5);
    for (const refused of made.filter((m) => !m.ok))
      expect(refused).toEqual({
        ok: false,
        status: 409,
        error: expect.stringContaining('too many follow-up rules are scheduled or evaluating (1000)'),
      });
    const rules = await new Followups(h.redis, h.keys, 60_000).list();
    expect(rules.filter((r) => r.state === 'scheduled' || r.state === 'evaluating')).toHaveLength(1000);
  });
});

describe('follow-up sources and targets', () => {
  it('refuses a due time past how long the source campaign is kept, naming --after or --at', async () => {
    const config = testConfig({ RESULT_TTL_DAYS: '30' });
    const env = envOf(config);
    h = await withSource(config);
    const make = (...when: string[]) =>
      runCli(['followup', '--from', 'src', '--where', 'failed', ...when, '--campaign', 'c2', '--text', 'x'], env);
    const late = await make('--after', '1000d');
    expect([late.code, late.stderr]).toEqual([
      2,
      expect.stringMatching(
        /^wa-bulk: --after: the rule would come due at .* later than campaign "src" is kept \(30 days from now: RESULT_TTL_DAYS\)/,
      ),
    ]);
    const far = await make('--at', '2030-12-31T00:00:00Z');
    expect([far.code, far.stderr]).toEqual([
      2,
      expect.stringContaining('wa-bulk: --at: the rule would come due at 2030-12-31'),
    ]);
    const never = await make('--at', '9999-12-31T00:00:00Z');
    expect([never.code, never.stderr]).toEqual([
      2,
      'wa-bulk: --at: "9999-12-31T00:00:00Z" is more than ten years ahead\n',
    ]);
    expect(await h.redis.zcard(h.keys.followups)).toBe(0);
    expect((await make('--after', '29d')).code).toBe(0);
  });

  it('refuses a rule into a cancelled campaign, naming it', async () => {
    const config = testConfig();
    const env = envOf(config);
    h = await withSource(config);
    await source(h, 1, 'gone');
    expect((await runCli(['cancel', '--campaign', 'gone'], env)).code).toBe(0);
    const refused = await runCli(
      ['followup', '--from', 'src', '--where', 'failed', '--after', '1h', '--campaign', 'gone', '--text', 'x'],
      env,
    );
    expect([refused.code, refused.stderr]).toEqual([
      1,
      'wa-bulk: --campaign: campaign "gone" is cancelled, its messages would all be skipped: name another campaign\n',
    ]);
    expect(await h.redis.zcard(h.keys.followups)).toBe(0);
  });

  it('logs one warning when a worker finds the source of a due rule no longer kept', async () => {
    const config = testConfig({ LOG_LEVEL: 'info' });
    h = await withSource(config, 2);
    const id = await rule(h, { from: 'src', where: 'pending', at: '+1s', campaign: 'c2', text: 'x' });
    await h.redis.del(h.keys.campaign('src'), h.keys.campaignIds('src'));
    const worker = await startCli(['worker'], envOf(config));
    children.push(worker.child);
    const followups = new Followups(h.redis, h.keys, 60_000);
    await until(async () => (await followups.get(id))?.state === 'done');
    await until(() => worker.output().includes('follow-up not evaluated'));
    const lines = worker
      .output()
      .split('\n')
      .filter((line) => line.includes(id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('follow-up not evaluated: source campaign \\"src\\" is no longer kept');
    expect(lines[0]).toContain('"level":40');
  });

  it('ends a rule whose target was cancelled meanwhile, or whose source is no longer kept, with a note and nothing enqueued', async () => {
    const config = testConfig({ DASHBOARD_PASSWORD: PASSWORD });
    const env = envOf(config);
    h = await withSource(config, 3);
    await source(h, 1, 'target');
    const followups = new Followups(h.redis, h.keys, 60_000);
    const deps = { ledger: h.ledger, send: h.send, followups };
    const intoCancelled = await rule(h, { from: 'src', where: 'pending', after: '1h', campaign: 'target', text: 'x' });
    expect((await runCli(['cancel', '--campaign', 'target'], env)).code).toBe(0);
    expect(await evaluateFollowup(deps, intoCancelled)).toEqual({
      enqueued: 0,
      suppressed: 0,
      held: 0,
      rejected: 0,
      note: 'campaign "target" was cancelled: nothing was enqueued',
    });
    expect((await h.ledger.campaign('target'))?.total).toBe(1);

    const orphan = await rule(h, { from: 'src', where: 'pending', after: '1h', campaign: 'c3', text: 'x' });
    // The source campaign expired (RESULT_TTL_DAYS) before the rule came due.
    await h.redis.del(h.keys.campaign('src'), h.keys.campaignIds('src'));
    expect(await evaluateFollowup(deps, orphan)).toMatchObject({
      enqueued: 0,
      note: 'source campaign "src" is no longer kept (RESULT_TTL_DAYS): nothing was sent',
    });
    expect(await h.ledger.campaign('c3')).toBeUndefined();
    const listed = await runCli(['followup', 'list'], env);
    expect(listed.stdout).toContain(`${orphan} done from src`);
    expect(listed.stdout).toContain('(source campaign "src" is no longer kept (RESULT_TTL_DAYS): nothing was sent)');
    dashboard = await startDashboard(config, silentLogger());
    const api = (await (await fetch(`${dashboard.url}/api/followups`, { headers: AUTH })).json()) as {
      followups: Array<{ id: string; state: string; note: string | null }>;
    };
    expect(api.followups.map((r) => [r.id, r.state, r.note])).toEqual([
      [intoCancelled, 'done', 'campaign "target" was cancelled: nothing was enqueued'],
      [orphan, 'done', 'source campaign "src" is no longer kept (RESULT_TTL_DAYS): nothing was sent'],
    ]);
    const page = await (await fetch(`${dashboard.url}/campaigns`, { headers: AUTH })).text();
    expect(page).toContain('campaign &quot;target&quot; was cancelled: nothing was enqueued');
  });
});

describe('follow-up placeholders', () => {
  it("takes a placeholder as a whole link or sender number, and checks each recipient's value at evaluation", async () => {
    const config = testConfig();
    h = harness(config);
    const sources = [
      { img: 'https://cdn.example.com/a.jpg', sender: '+447911123457' },
      { img: 'not a link', sender: '+447911123457' },
      { img: 'https://cdn.example.com/c.jpg', sender: 'nobody' },
    ].map((args, i) => ({ to: phone(i), body: BODIES.text, request_id: `src-${i}`, custom_args: args }));
    await enqueue(itemsOfArray(sources), { campaign: 'src', ledger: h.ledger, queue: h.send });
    const id = await rule(h, {
      from: 'src',
      where: 'pending',
      after: '1h',
      campaign: 'c2',
      template: 'promo',
      language: 'en',
      params: '{"header_image":"{{img}}","from":"{{sender}}","body_1":"{{img}}"}',
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    expect(await evaluateFollowup({ ledger: h.ledger, send: h.send, followups }, id)).toEqual({
      enqueued: 1,
      suppressed: 0,
      held: 0,
      rejected: 2,
    });
    const [written] = await collect(h.ledger.export('c2'));
    expect(written?.to).toBe(phone(0).slice(1));
  });
});

describe('follow-up templates', () => {
  it('refuses at creation a template EngageLab does not have, and only warns when it cannot ask', async () => {
    const config = testConfig();
    await catalogClient(config);
    const withSim = testConfig({ ENGAGELAB_BASE_URL: (sim as Simulator).url, QUEUE_PREFIX: config.QUEUE_PREFIX });
    h = await withSource(withSim);
    const make = (env: NodeJS.ProcessEnv, template: string) =>
      runCli(
        ['followup', '--from', 'src', '--where', 'failed', '--after', '1h', '--campaign', 'c2'].concat([
          '--template',
          template,
          '--language',
          'en',
        ]),
        env,
      );
    const unknown = await make(envOf(withSim), 'nosuch');
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      "wa-bulk: --template: template nosuch (en) does not exist in EngageLab's templates\n",
    ]);
    const known = await make(envOf(withSim), 'comeback');
    expect([known.code, known.stderr]).toEqual([0, '']);
    // EngageLab unreachable: the rule is made, and stderr says the template was not checked.
    const away = testConfig({ ENGAGELAB_BASE_URL: 'http://127.0.0.1:9', QUEUE_PREFIX: config.QUEUE_PREFIX });
    const unchecked = await make(envOf(away), 'nosuch');
    expect([unchecked.code, unchecked.stderr]).toEqual([
      0,
      expect.stringMatching(/^wa-bulk: template nosuch \(en\) could not be looked up: /),
    ]);
    expect(await h.redis.zcard(h.keys.followups)).toBe(2);
  });

  it('counts the messages of a template EngageLab does not have as rejected, not held, under FREQUENCY_CAP', async () => {
    const base = testConfig({ FREQUENCY_CAP: '1/7d' });
    const templates = await catalogClient(base);
    const config = testConfig({ FREQUENCY_CAP: '1/7d', ENGAGELAB_BASE_URL: (sim as Simulator).url });
    h = await withSource(config, 3);
    const fatigue = new Fatigue(h.redis, h.keys, config, new TemplateCategories((q) => templates.listTemplates(q)));
    const id = await rule(h, {
      from: 'src',
      where: 'pending',
      after: '1h',
      campaign: 'c2',
      template: 'nosuch',
      language: 'en',
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    expect(
      await evaluateFollowup(
        { ledger: h.ledger, send: h.send, followups, fatigue, preflight: () => preflightFromConfig(config, false) },
        id,
      ),
    ).toEqual({ enqueued: 0, suppressed: 0, held: 0, rejected: 3 });
  });

  it("counts a template follow-up's messages under the template's category and prices them with the rate card", async () => {
    const base = testConfig();
    await catalogClient(base);
    const config = testConfig({ ENGAGELAB_BASE_URL: (sim as Simulator).url });
    h = await withSource(config, 3);
    const id = await rule(h, {
      from: 'src',
      where: 'pending',
      after: '1h',
      campaign: 'c2',
      template: 'comeback',
      language: 'en',
    });
    const rateCard = parseRateCard(
      'market,category,price,currency,effective_date\ndefault,marketing,0.05,USD,2020-01-01\n',
      'rates.csv',
    );
    const followups = new Followups(h.redis, h.keys, 60_000);
    expect(
      await evaluateFollowup(
        {
          ledger: h.ledger,
          send: h.send,
          followups,
          preflight: () => preflightFromConfig(config, false),
          rateCard,
        },
        id,
      ),
    ).toEqual({ enqueued: 3, suppressed: 0, held: 0, rejected: 0 });
    const cost = (await h.ledger.campaign('c2'))?.cost;
    expect(cost?.templates).toEqual({
      messages: 3,
      by_country: { GB: { marketing: 3 } },
      by_category: { marketing: 3 },
    });
    expect(cost?.estimate?.total).toEqual({ USD: 0.15 });
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
