import { describe, expect, it } from '@jest/globals';
import { enqueue } from '../../producers/enqueue.js';
import {
  createFollowup,
  followupInput,
  followupItems,
  FOLLOWUP_FIELDS,
  FOLLOWUP_FLAGS,
  followupRequestId,
} from '../../producers/followups.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { Worker } from 'bullmq';
import { evaluateFollowup, startFollowupWorker } from '../../workers/followup-worker.js';
import { followupsBlock } from '../../src/http/followups-block.js';
import { workerConnection } from '../../src/redis/connection.js';
import { EngageLabClient } from '../../src/engagelab/client.js';
import { Fatigue } from '../../src/recipients/fatigue.js';
import { TemplateCategories } from '../../src/recipients/template-categories.js';
import { Followups, type Followup } from '../../src/campaigns/followups.js';
import { pauseSending } from '../../src/lanes/fleet.js';
import type { DeliveryUpdate } from '../../src/ledger/delivery.js';
import type { MessageRecord } from '../../src/ledger/records.js';
import { filtered, whereFilter } from '../../src/ledger/outcomes.js';
import { FOLLOWUP_QUEUE, followupBackoff, openQueue, type FollowupJob } from '../../src/queue.js';
import { runCli } from '../helpers/cli.js';
import { startDashboard } from '../helpers/contract.js';
import { campaignDone, collect, envOf, silentLogger, tempFile, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, phone } from '../fixtures/messages.js';

/**
 * Follow-ups by outcome: a source campaign sent through the simulator by a worker process, its deliveries
 * reported, then `wa-bulk followup --where not_read --after …` reaching exactly the recipients who did not
 * read (not the opted-out one), each once, with the original custom_args; and a rule whose evaluation was
 * interrupted, taken up by a worker process, still reaching each recipient once.
 */

const stack = useStack();

const delivery = (status: DeliveryUpdate['status']): DeliveryUpdate => ({
  status,
  at: Date.now(),
  errorCode: status === 'failed' ? 131026 : null,
  error: status === 'failed' ? 'undeliverable' : null,
  lossStep: null,
  lossSource: null,
});

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const recipients = (records: MessageRecord[]) => records.map((r) => r.to).sort();

/** Six messages of campaign `spring`: 0 and 1 read, 2 and 3 delivered, 4 sent with no report, 5 failed. */
const REPORTED: Array<DeliveryUpdate['status'] | undefined> = [
  'read',
  'read',
  'delivered',
  'delivered',
  undefined,
  'failed',
];

async function waitForRule(followups: Followups, id: string, state: Followup['state']): Promise<Followup> {
  let rule: Followup | undefined;
  await until(async () => (rule = await followups.get(id))?.state === state, 30_000);
  return rule as Followup;
}

describe('wa-bulk followup', () => {
  it('reaches exactly the recipients who did not read, not the opted-out one, each once, and not again after a restart', async () => {
    const { sim, config, h, env } = await stack.start({ simulator: {}, config: { LOG_LEVEL: 'info' } });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const source = tempFile(
      jsonl(
        REPORTED.map((_, i) => ({
          to: phone(i),
          body: BODIES.text,
          request_id: `spring-${i}`,
          custom_args: { name: `Ada ${i}`, order: i },
        })),
      ),
    );
    const enqueued = await runCli(['enqueue', source, '--campaign', 'spring', '--json', '--no-preflight'], env);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ accepted: 6 });
    const first = await stack.startCli(['worker'], env);
    await campaignDone(h.ledger, 'spring');
    // Their delivery reports, as EngageLab posts them to the dashboard's callback receiver.
    const dashboard = await stack.startDashboard(config, startDashboard);
    const records = new Map((await collect(h.ledger.export('spring'))).map((r) => [r.request_id, r]));
    const rows = [...REPORTED.entries()].flatMap(([i, status]) =>
      status === undefined
        ? []
        : [
            {
              message_id: records.get(`spring-${i}`)?.message_id,
              itime: Math.floor(Date.now() / 1000),
              status:
                status === 'failed'
                  ? { message_status: 'sent_failed', error_code: 131026 }
                  : { message_status: status },
            },
          ],
    );
    const posted = await fetch(`${dashboard.url}/callbacks/engagelab`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ total: rows.length, rows }),
    });
    expect(posted.status).toBe(200);
    const ledger = h.ledger;
    await until(async () => {
      const reported = (await collect(ledger.export('spring'))).map((r) => r.delivery?.status);
      return JSON.stringify(reported) === JSON.stringify(REPORTED.map((status) => status ?? undefined));
    });
    // Recipient 3 did not read, but opts out before the follow-up is due.
    expect((await runCli(['suppress', 'add', phone(3)], env)).code).toBe(0);

    const refused = await runCli(
      ['followup', '--from', 'spring', '--where', 'not_read', '--after', '2s', '--campaign', 'spring', '--text', 'x'],
      env,
    );
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringContaining('--campaign: the follow-up needs a campaign of its own'),
    ]);
    const unknown = await runCli(
      ['followup', '--from', 'autumn', '--where', 'not_read', '--after', '2s', '--campaign', 'x', '--text', 'x'],
      env,
    );
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('--from: no campaign "autumn"')]);

    const created = await runCli(
      [
        'followup',
        '--from',
        'spring',
        '--where',
        'not_read',
        '--after',
        '2s',
        '--campaign',
        'spring-reminder',
        '--text',
        'Still interested, {{name}}?',
        '--json',
      ],
      env,
    );
    expect([created.code, created.stderr]).toEqual([0, '']);
    const rule = JSON.parse(created.stdout) as Followup;
    const finished = (await h.ledger.campaign('spring'))?.finished_at as string;
    expect(rule).toMatchObject({ from: 'spring', where: 'not_read', campaign: 'spring-reminder', state: 'scheduled' });
    // --after counts from the source campaign's end.
    expect(Date.parse(rule.due_at)).toBe(Date.parse(finished) + 2000);

    const done = await waitForRule(followups, rule.id, 'done');
    expect(done).toMatchObject({ enqueued: 2, suppressed: 1, held: 0, rejected: 0 });
    await campaignDone(h.ledger, 'spring-reminder');
    const sent = await collect(h.ledger.export('spring-reminder'));
    expect(recipients(sent)).toEqual([phone(2).slice(1), phone(4).slice(1)]);
    expect(sent.map((r) => [r.status, r.custom_args])).toEqual([
      ['sent', { name: 'Ada 2', order: 2 }],
      ['sent', { name: 'Ada 4', order: 4 }],
    ]);
    for (const r of sent) expect(sim.acceptedByRequestId.get(r.request_id)).toBe(1);
    expect((await runCli(['audit', '--json'], env)).stdout).toContain('"action":"followup.create"');

    // The worker restarts, and the rule's job comes again (as after a crash): nothing more is sent.
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    await queue.add('followup', { followup: rule.id }, { jobId: `${rule.id}-again` });
    const second = await stack.startCli(['worker'], env);
    await until(async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0, 30_000);
    await until(async () => (await queue.getJobCounts('active')).active === 0, 30_000);
    await queue.close();
    expect(recipients(await collect(h.ledger.export('spring-reminder')))).toEqual([
      phone(2).slice(1),
      phone(4).slice(1),
    ]);
    expect((await h.ledger.campaign('spring-reminder'))?.total).toBe(2);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('writes each recipient once when an interrupted evaluation is taken up again by a worker process', async () => {
    const { sim, config, h } = await stack.start({
      simulator: { templates: ['order_update'] },
      config: { LOG_LEVEL: 'info' },
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const messages = Array.from({ length: 7 }, (_, i) => ({
      to: phone(i),
      body: BODIES.text,
      request_id: `src-${i}`,
      custom_args: { i },
    }));
    expect(await enqueue(itemsOfArray(messages), { campaign: 'src', ledger: h.ledger, queue: h.send })).toMatchObject({
      accepted: 7,
    });
    // Recipients 0-5 sent, 6 dead; 0 read.
    for (let i = 0; i < 6; i++) await h.ledger.markSent(`src-${i}`, 'src', `mid-src-${i}`);
    await h.ledger.markDead('src-6', 'src', { code: 4001, http_status: 400, reason: 'permanent', message: 'no' });
    await h.ledger.applyDelivery({ requestId: 'src-0', campaign: 'src' }, delivery('read'));
    await h.send.obliterate({ force: true });

    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const input = followupInput(
      {
        from: 'src',
        where: 'sent,not_read',
        after: '1h',
        campaign: 'src-followup',
        template: 'order_update',
        language: 'en',
        params: '{"body_1":"{{i}}"}',
      },
      FOLLOWUP_FLAGS,
    );
    const created = await createFollowup(input, { ledger: h.ledger, followups, queue, actor: 'test' });
    if (!created.ok) throw new Error(created.error);
    const id = created.followup.id;
    expect(await queue.getJobCounts('delayed')).toEqual({ delayed: 1 });

    // An evaluation that stops after its second message (its process died there).
    const deps = { ledger: h.ledger, send: h.send, followups, chunkSize: 1 };
    const stopped = evaluateFollowup(
      {
        ...deps,
        beforeMessage: (index) => {
          if (index === 2) throw new Error('killed');
        },
      },
      id,
    );
    await expect(stopped).rejects.toThrow('killed');
    expect((await followups.get(id))?.state).toBe('evaluating');
    // Its writes in flight land, or not: some of the five, not all.
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.ledger.campaign('src-followup'))?.total).toBeGreaterThanOrEqual(1);
    expect((await h.ledger.campaign('src-followup'))?.total).toBeLessThan(5);

    // Its job, due now, taken by a worker process, which evaluates the rule again from the start.
    await (await queue.getJob(id))?.changeDelay(0);
    const worker = await stack.startCli(['worker'], envOf(config));
    const done = await waitForRule(followups, id, 'done');
    expect(done).toMatchObject({ enqueued: 5, suppressed: 0, held: 0, rejected: 0 });
    await queue.close();
    // Evaluated once more, the rule has nothing to do; and its messages enqueued once more are all duplicates.
    expect(await evaluateFollowup(deps, id)).toBeUndefined();
    const records = filtered(h.ledger.export('src'), whereFilter('sent,not_read', 'where'));
    const again = await enqueue(
      followupItems(done, records, () => Promise.resolve(true), { held: 0 }),
      {
        campaign: 'src-followup',
        ledger: h.ledger,
        queue: h.send,
      },
    );
    expect(again).toMatchObject({ accepted: 0, duplicates: 5, rejected: 0 });
    const written = await collect(h.ledger.export('src-followup'));
    expect(written.map((r) => r.request_id).sort()).toEqual(
      [1, 2, 3, 4, 5].map((i) => followupRequestId(id, phone(i).slice(1))).sort(),
    );
    expect(written.map((r) => r.custom_args).sort((a, b) => Number(a?.i) - Number(b?.i))).toEqual(
      [1, 2, 3, 4, 5].map((i) => ({ i })),
    );
    await campaignDone(h.ledger, 'src-followup');
    for (const r of written) expect(sim.acceptedByRequestId.get(r.request_id)).toBe(1);
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('refuses a bad rule naming the flag, lists rules, and cancels a scheduled one so that it sends nothing', async () => {
    const { h, env } = await stack.start();
    await enqueue(
      itemsOfArray([
        { to: phone(1), body: BODIES.text, request_id: 'c-1', custom_args: { first_name: 'Ann' } },
        { to: phone(2), body: BODIES.text, request_id: 'c-2' },
      ]),
      { campaign: 'c', ledger: h.ledger, queue: h.send },
    );
    const base = ['followup', '--from', 'c', '--campaign', 'c2'];
    for (const [args, error] of [
      [['--where', 'unread', '--after', '1h', '--text', 'x'], '--where: expected outcome words'],
      [['--where', 'not_read', '--text', 'x'], 'give --after DURATION or --at TIME'],
      [['--where', 'not_read', '--after', '1h', '--at', '+1h', '--text', 'x'], 'give --after DURATION or --at TIME'],
      [['--where', 'not_read', '--after', 'soon', '--text', 'x'], '--after: expected a duration'],
      [['--where', 'not_read', '--at', 'tomorrow', '--text', 'x'], '--at: expected an ISO 8601 time'],
      [['--where', 'not_read', '--after', '1h'], 'give --template NAME with --language CODE, or --text'],
      [['--where', 'not_read', '--after', '1h', '--template', 'order_update'], '--template needs --language'],
      [
        [
          '--where',
          'not_read',
          '--after',
          '1h',
          '--template',
          'order_update',
          '--language',
          'en',
          '--params',
          '{"body_x":"1"}',
        ],
        '--params: unknown template column "body_x"',
      ],
      [
        ['--where', 'not_read', '--after', '1h', '--template', 'order_update', '--language', 'en', '--params', '[1]'],
        '--params: expected an object',
      ],
      [['--where', 'not_read', '--after', '1h', '--text', 'x', '--priority', 'urgent'], '--priority: expected high'],
      [
        ['--where', 'not_read', '--after', '1h', '--text', 'x', '--send-window', '9-21'],
        '--send-window: expected HH:MM',
      ],
      [['--where', 'not_read', '--after', '1h', '--text', 'x', '--expires-in', 'soon'], '--expires-in: expected a'],
      [
        ['--where', 'not_read', '--at', '+2h', '--text', 'x', '--expires-at', '+1h'],
        '--expires-at: its messages would expire before the rule is due',
      ],
    ] as const) {
      const r = await runCli([...base, ...args], env);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(error)]);
    }

    const unknown = await runCli(['followup', 'bogus'], env);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown action "bogus"')]);

    // Started, not ended: --after counts from its start, and the line says so, once; {{first_name}} is known.
    await h.ledger.markSent('c-1', 'c', 'm-1');
    const started = await runCli([...base, '--where', 'failed', '--after', '2h', '--text', 'Hi {{first_name}}'], env);
    expect([started.code, started.stderr]).toEqual([0, '']);
    expect(started.stdout).toMatch(
      /^fu_[a-z0-9]{10} scheduled from c where failed -> c2 due \S+ \(2h after the campaign's start: it has not ended\)\n$/,
    );
    // A past --at and a misspelt {{name}} are taken, and said.
    const past = await runCli(
      [...base, '--where', 'failed', '--at', '2020-01-01T00:00:00Z', '--text', 'Hi {{frist_name}}'],
      env,
    );
    expect([past.code, past.stderr.split('\n')]).toEqual([
      0,
      [
        'wa-bulk: due at once: 2020-01-01T00:00:00.000Z is in the past',
        expect.stringContaining('{{frist_name}} is in no custom_args of the first 100 messages of "c"'),
        '',
      ],
    ]);
    for (const line of [started.stdout, past.stdout])
      expect((await runCli(['followup', 'cancel', line.split(' ')[0] as string], env)).code).toBe(0);

    const created = await runCli([...base, '--where', 'failed', '--at', '+1h', '--text', 'Hello', '--json'], env);
    expect(created.code).toBe(0);
    const rule = JSON.parse(created.stdout) as Followup;
    const listed = await runCli(['followup', 'list', '--from', 'c', '--json'], env);
    const rules = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Followup);
    expect(rules.filter((r) => r.state === 'scheduled')).toEqual([
      expect.objectContaining({ id: rule.id, message: { text: 'Hello' } }),
    ]);

    const cancelled = await runCli(['followup', 'cancel', rule.id], env);
    expect([cancelled.code, cancelled.stdout]).toEqual([0, `follow-up ${rule.id} cancelled\n`]);
    const again = await runCli(['followup', 'cancel', rule.id], env);
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringContaining('is cancelled: it can no longer be cancelled'),
    ]);
    expect((await runCli(['followup', 'cancel', 'fu_0000000000'], env)).code).toBe(1);
    const followups = new Followups(h.redis, h.keys, 60_000);
    expect(await followups.get(rule.id)).toMatchObject({ state: 'cancelled', cancelled_by: expect.any(String) });
    // A cancelled rule's evaluation does nothing.
    expect(await evaluateFollowup({ ledger: h.ledger, send: h.send, followups }, rule.id)).toBeUndefined();
    const audit = (await runCli(['audit', '--json'], env)).stdout;
    expect(audit).toContain('"action":"followup.cancel"');
  });

  it('refuses a rule while 1,000 are scheduled or evaluating, and takes it once one is cancelled', async () => {
    const { h, env } = await stack.start();
    await enqueue(itemsOfArray([{ to: phone(1), body: BODIES.text, request_id: 'cap-1' }]), {
      campaign: 'cap',
      ledger: h.ledger,
      queue: h.send,
    });
    // 1,000 rules written as create writes them (one create each would take long), plus a done one.
    const pipeline = h.redis.pipeline();
    for (let i = 0; i <= 1000; i++) {
      const id = `fu_seed${String(i).padStart(6, '0')}`;
      pipeline
        .hset(h.keys.followup(id), {
          id,
          from: 'cap',
          where: 'failed',
          campaign: 'cap2',
          message: '{"text":"x"}',
          due_at: String(Date.now() + 3_600_000),
          state: i === 1000 ? 'done' : i % 2 === 0 ? 'scheduled' : 'evaluating',
          created_at: String(Date.now()),
          created_by: 'test',
        })
        .zadd(h.keys.followups, i, id);
    }
    await pipeline.exec();
    const make = ['followup', '--from', 'cap', '--campaign', 'cap2', '--where', 'failed', '--at', '+1h', '--text', 'x'];
    const refused = await runCli(make, env);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringContaining('too many follow-up rules are scheduled or evaluating (1000): cancel some'),
    ]);
    expect((await runCli(['followup', 'cancel', 'fu_seed000000'], env)).code).toBe(0);
    expect((await runCli(make, env)).code).toBe(0);
  });

  it("writes its messages with the rule's send window, priority and expiry, counted from the evaluation", async () => {
    const { h, env } = await stack.start();
    const messages = [0, 1].map((i) => ({ to: phone(i), body: BODIES.text, request_id: `o-${i}` }));
    await enqueue(itemsOfArray(messages), { campaign: 'o', ledger: h.ledger, queue: h.send });
    for (let i = 0; i < 2; i++) await h.ledger.markSent(`o-${i}`, 'o', `mid-o-${i}`);
    // The source's own jobs leave the queue, so that only the follow-ups' jobs are looked at.
    await h.send.obliterate({ force: true });
    const made = await runCli(
      [
        'followup',
        ...['--from', 'o', '--where', 'not_read', '--at', '+1h', '--campaign', 'o2', '--text', 'again'],
        ...['--send-window', '09:00-21:00', '--priority', 'low', '--expires-in', '2h', '--json'],
      ],
      env,
    );
    expect(made.code).toBe(0);
    const rule = JSON.parse(made.stdout) as Followup;
    expect(rule).toMatchObject({ send_window: '09:00-21:00', priority: 'low', expires_in: '2h', expires_at: null });
    const listed = await runCli(['followup', 'list'], env);
    expect(listed.stdout).toContain(' window 09:00-21:00 expires 2h after evaluation priority low');
    // The campaigns page's block says them too.
    expect(followupsBlock([rule])).toContain(
      'text &quot;again&quot; · low priority · window 09:00-21:00 · expires in 2h',
    );

    const followups = new Followups(h.redis, h.keys, 60_000);
    const evaluatedAt = Date.now();
    expect(await evaluateFollowup({ ledger: h.ledger, send: h.send, followups }, rule.id)).toMatchObject({
      enqueued: 2,
    });
    // Low: BullMQ's prioritized set, as enqueue --priority low puts them; each with its window and expiry.
    const jobs = await h.send.getJobs(['prioritized']);
    expect(jobs.map((j) => j.data.request_id).sort()).toEqual(
      [0, 1].map((i) => followupRequestId(rule.id, phone(i).slice(1))).sort(),
    );
    for (const job of jobs) {
      expect(job.data.window).toMatchObject({ from: 9 * 60, to: 21 * 60, tz: expect.any(String) });
      expect(job.data.expires_at).toBeGreaterThanOrEqual(evaluatedAt + 2 * 3_600_000);
      expect(job.data.expires_at).toBeLessThan(Date.now() + 2 * 3_600_000 + 1);
    }
    expect(await h.send.getWaitingCount()).toBe(0);
    expect(await h.ledger.campaign('o2')).toMatchObject({ priority: 'low', send_window: '09:00-21:00', total: 2 });
  });

  it('cancels a rule left evaluating once no worker runs it, not while one does', async () => {
    const { config, h, env } = await stack.start();
    await enqueue(itemsOfArray([{ to: phone(1), body: BODIES.text, request_id: 'e-1' }]), {
      campaign: 'e',
      ledger: h.ledger,
      queue: h.send,
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const created = await createFollowup(
      followupInput({ from: 'e', where: 'pending', at: '+1s', campaign: 'e2', text: 'x' }, FOLLOWUP_FIELDS),
      { ledger: h.ledger, followups, queue, actor: 'test' },
    );
    if (!created.ok) throw new Error(created.error);
    const id = created.followup.id;
    // A worker that begins the rule and holds its job until told to fail, as one whose Redis goes away.
    let fail: (error: Error) => void = () => undefined;
    const failing = new Promise<never>((_resolve, reject) => (fail = reject));
    const connection = workerConnection(config);
    const worker = new Worker<FollowupJob>(
      FOLLOWUP_QUEUE,
      async (job) => {
        await followups.begin(job.data.followup);
        await failing;
      },
      { connection, prefix: config.QUEUE_PREFIX, settings: { backoffStrategy: followupBackoff } },
    );
    await waitForRule(followups, id, 'evaluating');
    const busy = await runCli(['followup', 'cancel', id], env);
    expect([busy.code, busy.stderr]).toEqual([1, expect.stringContaining('is being evaluated by a worker now')]);

    fail(new Error('Connection is closed.'));
    // Failed once, it waits to be tried again: no worker runs it now.
    await until(async () => (await queue.getJobState(id)) === 'delayed', 10_000);
    await worker.close();
    connection.disconnect();
    expect(await followups.get(id)).toMatchObject({ state: 'evaluating' });
    const cancelled = await runCli(['followup', 'cancel', id], env);
    expect([cancelled.code, cancelled.stdout]).toEqual([0, `follow-up ${id} cancelled\n`]);
    expect(await followups.get(id)).toMatchObject({ state: 'cancelled' });
    expect(await queue.getJob(id)).toBeUndefined();
    expect(await evaluateFollowup({ ledger: h.ledger, send: h.send, followups }, id)).toBeUndefined();
    expect(await h.ledger.campaign('e2')).toBeUndefined();
    await queue.close();
  });

  it('tries a failed evaluation again until it is done, waiting at most 5 minutes between tries', async () => {
    expect([1, 2, 3, 7, 10, 1_000_000].map(followupBackoff)).toEqual([5000, 10_000, 20_000, 300_000, 300_000, 300_000]);
    const { config, h } = await stack.start();
    await enqueue(itemsOfArray([{ to: phone(1), body: BODIES.text, request_id: 'r-1' }]), {
      campaign: 'r',
      ledger: h.ledger,
      queue: h.send,
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const created = await createFollowup(
      followupInput({ from: 'r', where: 'pending', at: '+1s', campaign: 'r2', text: 'x' }, FOLLOWUP_FIELDS),
      { ledger: h.ledger, followups, queue, actor: 'test' },
    );
    if (!created.ok) throw new Error(created.error);
    const id = created.followup.id;
    // Its evaluation fails (a rule whose words no longer read), and is tried again, not given up.
    await h.redis.hset(h.keys.followup(id), 'where', 'no-such-word');
    const worker = startFollowupWorker(config, silentLogger());
    try {
      await until(async () => (await queue.getJob(id))?.attemptsMade === 1, 15_000);
      expect(await queue.getJobState(id)).toBe('delayed');
      expect((await queue.getJob(id))?.opts.attempts).toBeGreaterThanOrEqual(1_000_000);
      await h.redis.hset(h.keys.followup(id), 'where', 'pending');
      expect(await waitForRule(followups, id, 'done')).toMatchObject({ enqueued: 1 });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('makes, lists and cancels rules over HTTP, naming a bad field, and records who did', async () => {
    const { config, h } = await stack.start({ config: { DASHBOARD_PASSWORD: 'followups-test-password' } });
    await enqueue(itemsOfArray([{ to: phone(1), body: BODIES.text, request_id: 'w-1' }]), {
      campaign: 'w',
      ledger: h.ledger,
      queue: h.send,
    });
    const dashboard = await stack.startDashboard(config, startDashboard);
    const auth = { Authorization: `Basic ${Buffer.from('admin:followups-test-password').toString('base64')}` };
    const post = (path: string, body: object) =>
      fetch(`${dashboard.url}${path}`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const rule = { from: 'w', where: 'not_read', after: '1d', campaign: 'w2', text: 'Hello {{name}}' };

    for (const [body, status, error] of [
      [{ ...rule, after: 'soon' }, 400, 'after: expected a duration'],
      [{ ...rule, where: 'unread' }, 400, 'where: expected outcome words'],
      [{ ...rule, campaign: 'w' }, 400, 'campaign: the follow-up needs a campaign of its own'],
      [
        { ...rule, text: undefined, template: 'x', language: 'en', params: { body_1: 7 } },
        400,
        'params.body_1: expected',
      ],
      [{ ...rule, priority: 'urgent' }, 400, 'priority: expected high, normal or low'],
      [
        { ...rule, text: undefined, template: 'x', language: 'en', params: '{"body_1":"a"}' },
        400,
        'params: expected an object of template columns to text',
      ],
      [{ ...rule, param: { body_1: 'a' } }, 400, 'body: unknown field "param"'],
      [{ ...rule, send_window: '25:00-01:00' }, 400, 'send_window: expected HH:MM-HH:MM'],
      [{ ...rule, from: 'nope' }, 404, 'from: no campaign "nope"'],
    ] as const) {
      const res = await post('/api/followups', body);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([
        status,
        expect.stringContaining(error),
      ]);
    }
    const created = await post('/api/followups', rule);
    expect(created.status).toBe(201);
    const made = (await created.json()) as Followup & { warnings: string[] };
    expect(made).toMatchObject({ from: 'w', campaign: 'w2', state: 'scheduled', created_by: 'dashboard' });
    // Campaign w's message has no custom_args: {{name}} would be empty.
    expect(made.warnings).toEqual([expect.stringContaining('{{name}} is in no custom_args of the first 100 messages')]);

    const list = (await (await fetch(`${dashboard.url}/api/followups?from=w`, { headers: auth })).json()) as {
      followups: Followup[];
    };
    expect(list.followups.map((f) => f.id)).toEqual([made.id]);
    const page = async () => (await fetch(`${dashboard.url}/campaigns`, { headers: auth })).text();
    const before = await page();
    expect(before).toContain(`<tr id="followup-${made.id}" class="followup scheduled">`);
    expect(before).toContain(`data-followup="${made.id}">Cancel</button>`);
    const cancelled = await post(`/api/followups/${made.id}/cancel`, {});
    expect([cancelled.status, ((await cancelled.json()) as Followup).state]).toEqual([200, 'cancelled']);
    const after = await page();
    expect(after).toContain(`<tr id="followup-${made.id}" class="followup cancelled">`);
    expect(after).toContain('cancelled by dashboard');
    expect(after).not.toContain(`data-followup="${made.id}"`);
    const again = await post(`/api/followups/${made.id}/cancel`, {});
    expect([again.status, await again.json()]).toMatchObject([409, { state: 'cancelled' }]);
    expect((await fetch(`${dashboard.url}/api/followups/fu_0000000000`, { headers: auth })).status).toBe(404);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    expect(await queue.getJob(made.id)).toBeUndefined();
    await queue.close();

    const audit = (await (await fetch(`${dashboard.url}/api/audit`, { headers: auth })).json()) as {
      entries: Array<{ action: string; outcome: string; target: string | null }>;
    };
    expect(audit.entries.filter((e) => e.action.startsWith('followup.')).map((e) => e.action)).toEqual(
      expect.arrayContaining(['followup.create', 'followup.cancel']),
    );
    // The rule made is named by the id its answer gave, as its cancel names it by its path.
    const named = audit.entries.filter((e) => e.target === made.id && e.outcome === 'ok').map((e) => e.action);
    expect(named.sort()).toEqual(['followup.cancel', 'followup.create']);
  });

  it('finishes a rule whose worker process was killed while evaluating it, each recipient once', async () => {
    const { config, h, env } = await stack.start({ config: { LOG_LEVEL: 'info' } });
    const count = 4000;
    const messages = Array.from({ length: count }, (_, i) => ({
      to: `+4479${String(10_000_000 + i)}`,
      body: BODIES.text,
      request_id: `big-${i}`,
      custom_args: { i },
    }));
    expect(await enqueue(itemsOfArray(messages), { campaign: 'big', ledger: h.ledger, queue: h.send })).toMatchObject({
      accepted: count,
    });
    // Its messages stay pending (their jobs gone), and nothing is sent: the follow-ups wait in their queue.
    await h.send.obliterate({ force: true });
    await pauseSending(h.redis, h.keys, 'test');
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const created = await createFollowup(
      followupInput({ from: 'big', where: 'pending', at: '+1s', campaign: 'big-2', text: 'n {{i}}' }, FOLLOWUP_FIELDS),
      { ledger: h.ledger, followups, queue, actor: 'test' },
    );
    if (!created.ok) throw new Error(created.error);
    const id = created.followup.id;

    const first = await stack.startCli(['worker'], env);
    // Killed once its first chunk is written and before its last.
    await until(async () => {
      const rule = await followups.get(id);
      return rule?.state === 'evaluating' && rule.enqueued > 0;
    }, 30_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const cut = await followups.get(id);
    expect(cut?.state).toBe('evaluating');

    const second = await stack.startCli(['worker'], env);
    const done = await waitForRule(followups, id, 'done');
    expect(done).toMatchObject({ enqueued: count, suppressed: 0, rejected: 0 });
    expect(done.started_at).toBe(cut?.started_at);
    const written = await collect(h.ledger.export('big-2'));
    expect(written).toHaveLength(count);
    expect(new Set(written.map((r) => r.to)).size).toBe(count);
    expect(written.every((r) => r.request_id === followupRequestId(id, r.to))).toBe(true);
    expect((await h.ledger.campaign('big-2'))?.total).toBe(count);
    await queue.close();
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('stops an evaluation between messages once its rule is cancelled, and does not call it done', async () => {
    const { config, h } = await stack.start();
    const count = 1200;
    const messages = Array.from({ length: count }, (_, i) => ({
      to: `+4479111${String(i).padStart(5, '0')}`,
      body: BODIES.text,
      request_id: `c-${i}`,
    }));
    await enqueue(itemsOfArray(messages), { campaign: 'c', ledger: h.ledger, queue: h.send });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const created = await createFollowup(
      followupInput({ from: 'c', where: 'pending', after: '1h', campaign: 'c2', text: 'again' }, FOLLOWUP_FIELDS),
      { ledger: h.ledger, followups, queue, actor: 'test' },
    );
    await queue.close();
    if (!created.ok) throw new Error(created.error);
    const id = created.followup.id;
    let cancelled: Promise<unknown> | undefined;
    const counts = await evaluateFollowup(
      {
        ledger: h.ledger,
        send: h.send,
        followups,
        chunkSize: 100,
        // An operator cancels it while it runs (no worker holds a lock in this direct call).
        beforeMessage: (index) => {
          if (index === 600) cancelled = followups.cancel(id, 'operator');
        },
      },
      id,
    );
    await cancelled;
    expect(counts).toBeUndefined();
    expect((await followups.get(id))?.state).toBe('cancelled');
    const written = (await h.ledger.campaign('c2'))?.total ?? 0;
    // It looks again every 500 messages: what was written before the next look stays, nothing after.
    expect(written).toBeGreaterThan(600);
    expect(written).toBeLessThanOrEqual(1000);
  });

  it('leaves out a recipient the admission hook holds back, and counts them held', async () => {
    const { config, h } = await stack.start();
    const messages = [0, 1, 2].map((i) => ({ to: phone(i), body: BODIES.text, request_id: `a-${i}` }));
    await enqueue(itemsOfArray(messages), { campaign: 'a', ledger: h.ledger, queue: h.send });
    for (let i = 0; i < 3; i++) await h.ledger.markSent(`a-${i}`, 'a', `mid-a-${i}`);
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const created = await createFollowup(
      followupInput({ from: 'a', where: 'not_read', after: '1h', campaign: 'a2', text: 'again' }, FOLLOWUP_FIELDS),
      { ledger: h.ledger, followups, queue, actor: 'test' },
    );
    await queue.close();
    if (!created.ok) throw new Error(created.error);
    const rested = phone(1).slice(1);
    const counts = await evaluateFollowup(
      { ledger: h.ledger, send: h.send, followups, admits: (to) => Promise.resolve(to !== rested) },
      created.followup.id,
    );
    expect(counts).toEqual({ enqueued: 2, suppressed: 0, held: 1, rejected: 0 });
    expect(recipients(await collect(h.ledger.export('a2')))).toEqual([phone(0).slice(1), phone(2).slice(1)]);
  });

  it('holds back, at evaluation, the recipients a marketing follow-up would reach while they rest or are capped', async () => {
    const { config, h } = await stack.start({ config: { FREQUENCY_CAP: '1/7d', MARKETING_REST: '1h' } });
    const catalog = [
      { name: 'comeback', language: 'en', status: 'APPROVED', category: 'MARKETING' },
      { name: 'reminder', language: 'en', status: 'APPROVED', category: 'UTILITY' },
    ];
    const sim = await stack.startSimulator({ templateCatalog: catalog });
    const client = new EngageLabClient({
      baseUrl: sim.url,
      key: config.ENGAGELAB_DEV_KEY as string,
      secret: config.ENGAGELAB_DEV_SECRET as string,
      timeoutMs: 5000,
      retries: 0,
      minRetryMs: 10,
      maxRetryMs: 10,
    });
    const fatigue = new Fatigue(h.redis, h.keys, config, new TemplateCategories((q) => client.listTemplates(q)));
    const messages = [0, 1, 2].map((i) => ({ to: phone(i), body: BODIES.text, request_id: `m-${i}` }));
    await enqueue(itemsOfArray(messages), { campaign: 'm', ledger: h.ledger, queue: h.send });
    for (let i = 0; i < 3; i++) await h.ledger.markSent(`m-${i}`, 'm', `mid-m-${i}`);
    // phone(0) rests after a 131049; phone(1) had its one marketing message of the week.
    await fatigue.rest(phone(0).slice(1));
    await h.redis.hset(h.keys.message('elsewhere-1'), 'status', 'pending');
    expect(await fatigue.check('elsewhere-1', phone(1).slice(1), { name: 'comeback', language: 'en' })).toEqual({
      kind: 'held',
    });
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const rule = async (campaign: string, template: string) => {
      const created = await createFollowup(
        followupInput(
          { from: 'm', where: 'not_read', after: '1h', campaign, template, language: 'en' },
          FOLLOWUP_FIELDS,
        ),
        { ledger: h.ledger, followups, queue, actor: 'test' },
      );
      if (!created.ok) throw new Error(created.error);
      return evaluateFollowup({ ledger: h.ledger, send: h.send, followups, fatigue }, created.followup.id);
    };
    expect(await rule('m-marketing', 'comeback')).toEqual({ enqueued: 1, suppressed: 0, held: 2, rejected: 0 });
    expect(recipients(await collect(h.ledger.export('m-marketing')))).toEqual([phone(2).slice(1)]);
    // A utility template is not marketing: fatigue holds nobody back.
    expect(await rule('m-utility', 'reminder')).toEqual({ enqueued: 3, suppressed: 0, held: 0, rejected: 0 });
    await queue.close();
    client.close();
  });
});
