import { describe, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, testConfig } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

const stack = useStack();

const good = [0, 1, 2].map((i) => ({ to: phone(i), body: BODIES.text, request_id: `cli-${i}` }));
const bad = { to: phone(9), body: { type: 'text', text: {} } };

describe('wa-bulk enqueue', () => {
  it('--strict enqueues nothing when a line is invalid', async () => {
    const { config, h } = await stack.start();
    const res = await runCli(
      ['enqueue', tempFile(jsonl([...good, bad])), '--campaign', 'strict', '--strict', '--json'],
      envOf(config),
    );
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toEqual({
      campaign: 'strict',
      accepted: 0,
      rejected: 1,
      duplicates: 0,
      suppressed: 0,
      rejects: [{ line: 4, error: 'body.text.body: is required' }],
      warnings: [],
    });
    expect(await h.send.getWaitingCount()).toBe(0);
    expect(await h.ledger.campaign('strict')).toBeUndefined();
  });

  it('--strict reads stdin and enqueues everything when all lines are valid', async () => {
    const { config, h } = await stack.start();
    const res = await runCli(['enqueue', '-', '--campaign', 'stdin', '--strict', '--json'], envOf(config), jsonl(good));
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ accepted: 3, rejected: 0 });
    expect(await h.send.getWaitingCount()).toBe(3);
  });

  it('--dry-run validates and counts without writing anything', async () => {
    const { config, h } = await stack.start();
    const res = await runCli(
      ['enqueue', tempFile(jsonl([...good, bad])), '--campaign', 'dry', '--dry-run'],
      envOf(config),
    );
    expect(res.stdout).toBe('campaign dry: would enqueue 3, rejected 1, duplicates 0\n');
    expect(res.stderr).toContain('line 4: body.text.body: is required');
    // (BullMQ writes each queue's meta key when it is opened; nothing else may exist.)
    expect((await h.redis.keys(`${config.QUEUE_PREFIX}:*`)).filter((k) => !k.endsWith(':meta'))).toEqual([]);
  });

  it('enqueues a CSV template campaign', async () => {
    const { config } = await stack.start();
    const csv = tempFile('to,body_1\n+447911123456,Ada\n+447911123457,Grace\n', 'c.csv');
    const res = await runCli(
      ['enqueue', csv, '--campaign', 'csv', '--template', 'order_update', '--language', 'en', '--json'],
      envOf(config),
    );
    expect(JSON.parse(res.stdout)).toMatchObject({ accepted: 2, rejected: 0 });
  });

  it('names what is wrong with the command line or the configuration in one line', async () => {
    const config = testConfig();
    const noCampaign = await runCli(['enqueue', 'x.jsonl'], envOf(config));
    expect(noCampaign.code).toBe(2);
    expect(noCampaign.stderr).toMatch(/^wa-bulk: --campaign is required/);
    const wrong = await runCli(['status'], { ...envOf(config), SEND_ATTEMPTS: 'lots' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('wa-bulk: SEND_ATTEMPTS: expected an integer between 1 and 100, got "lots"\n');
    const down = await runCli(['status'], { ...envOf(config), REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^wa-bulk: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});

describe('status, result, export and watch', () => {
  it('report a finished campaign', async () => {
    const { h, env } = await stack.start({ simulator: {} });
    await runCli(['enqueue', tempFile(jsonl(good)), '--campaign', 'report'], env);
    await stack.startWorker();
    const watch = await runCli(['watch', '--campaign', 'report', '--interval-ms', '50'], env);
    expect(watch.code).toBe(0);
    expect(watch.stderr).toContain('3 sent');
    await campaignDone(h.ledger, 'report');

    const status = JSON.parse((await runCli(['status', '--campaign', 'report', '--json'], env)).stdout);
    expect(status).toEqual({
      queue: { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 },
      paused: false,
      pause_reason: null,
      dead: 0,
      campaign: {
        id: 'report',
        total: 3,
        sent: 3,
        dead: 0,
        skipped: 0,
        skipped_by: { expired: 0, cancelled: 0, suppressed: 0, no_session: 0, removed: 0, frequency_cap: 0 },
        pending: 0,
        rejected: 0,
        delivery: { sent: 3, delivered: 0, read: 0, failed: 0 },
        delivery_failed_by_code: {},
        state: 'done',
        pause_reason: null,
        at: null,
        send_window: null,
        expires_at: null,
        priority: 'normal',
        dead_by_code: {},
        started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        finished_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        rate: expect.any(Number),
        eta: null,
      },
      gate: null,
      phone_limit: null,
      senders: [
        {
          from: 'default',
          rate_max: 10_000,
          rate_now: 10_000,
          window_ms: 1000,
          rate_source: 'workers',
          workers: 1,
          paused: false,
          pause_reason: null,
          waiting: 0,
        },
      ],
      messaging_limit: { limit: 'unlimited', used: 0, held: 0 },
      archive: null,
    });
    const result = JSON.parse((await runCli(['result', 'cli-1', '--json'], env)).stdout);
    expect(result).toEqual({
      request_id: 'cli-1',
      campaign: 'report',
      to: phone(1).slice(1),
      status: 'sent',
      message_id: expect.stringMatching(/^[0-9a-f]{20}$/),
      error: null,
      attempts: 1,
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      delivery: null,
    });
    expect((await runCli(['result', 'nope'], env)).code).toBe(1);

    const lines = (await runCli(['export', '--campaign', 'report'], env)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.request_id)).toEqual(['cli-0', 'cli-1', 'cli-2']);
    const csv = (await runCli(['export', '--campaign', 'report', '--format', 'csv'], env)).stdout.trim().split('\n');
    expect(csv[0]).toBe(
      'request_id,campaign,to,status,message_id,error_code,http_status,reason,error_message,attempts,updated_at,delivery_status,delivery_at,delivery_error_code',
    );
    expect(csv).toHaveLength(4);

    expect((await runCli(['pause', '--reason', 'checking the template'], env)).code).toBe(0);
    const paused = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(paused).toMatchObject({ paused: true, pause_reason: 'checking the template', campaign: null });
  });
});

describe('wa-bulk demo', () => {
  it('runs the sample campaign through the simulator and reports it', async () => {
    const { config } = await stack.start();
    const res = await runCli(['demo', '--exit'], {
      PATH: process.env.PATH,
      REDIS_URL: config.REDIS_URL,
      QUEUE_PREFIX: config.QUEUE_PREFIX,
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/: 988 messages enqueued/);
    // Preflight turns away what would only fail at EngageLab: an unknown template, a paused one, a broken link;
    // with the three broken lines, the 17 rejects docs/cli.md lists.
    const rejects = res.stdout.split('\n').filter((line) => / rejected: /.test(line));
    const count = (pattern: RegExp) => rejects.filter((line) => pattern.test(line)).length;
    expect(count(/template autumn_promo \(en_GB\) does not exist in EngageLab's templates$/)).toBe(1);
    expect(count(/template spring_sale \(en_US\) is PAUSED, not APPROVED$/)).toBe(12);
    expect(count(/image http:\/\/127\.0\.0\.1:\d+\/media\/missing-banner\.png: the link answers HTTP 404$/)).toBe(1);
    expect(count(/rejected: (not valid JSON|to\[0\]: |body\.template\.name: )/)).toBe(3);
    expect(rejects).toHaveLength(17);
    expect(res.stdout).toMatch(/rejected\s+17 lines/);
    expect(res.stdout).toMatch(/preflight: \d+ template lookups and \d+ link checks for the whole file/);
    expect(res.stdout).toContain('line 101 rejected: not valid JSON');
    expect(res.stdout).toContain('(each accepted once by the API: yes)');
    expect(res.stdout).toMatch(/delivery\s+[\d,]+ delivered, [\d,]+ read, [\d,]+ failed/);
    const sent = Number(/sent\s+([\d,]+)/.exec(res.stdout)?.[1]?.replace(',', ''));
    const skipped = Number(/skipped\s+([\d,]+) \(no_session/.exec(res.stdout)?.[1]?.replace(',', ''));
    // A fifth of the session messages' recipients had not written (SESSION_CHECK=enforce in the demo).
    expect(skipped).toBeGreaterThan(50);
    expect(sent + skipped).toBeGreaterThan(900);
    // The high-priority codes overtake the backlog; the scheduled reminders wait for their time.
    expect(
      Number(/when the last one left, ([\d,]+) of the main campaign's/.exec(res.stdout)?.[1]?.replace(',', '')),
    ).toBeLessThan(500);
    // With 2% of requests faulty a reminder may end dead (an unknown outcome); none leaves before its --at.
    const reminders = /reminders\s+(\d+) sent(?:, (\d+) dead)?, the first (-?[\d.]+) s after their --at/.exec(
      res.stdout,
    );
    expect(Number(reminders?.[1]) + Number(reminders?.[2] ?? 0)).toBe(10);
    expect(Number(reminders?.[1])).toBeGreaterThan(0);
    expect(Number(reminders?.[3])).toBeGreaterThanOrEqual(0);
    expect(res.stdout).toMatch(/campaigns: http:\/\/127\.0\.0\.1:\d+\/campaigns/);
  });
});
