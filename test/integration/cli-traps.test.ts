import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import { PAUSE } from '../../src/cli/commands/pause.decl.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { flagLabel, help, overview } from '../../src/cli/usage.js';
import { CLI, runCli } from '../helpers/cli.js';
import { addPending, envOf, tempFile, testConfig } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES } from '../fixtures/messages.js';

/** The command line's traps: a closed pipe, --help, unknown campaigns, replaying what may have been delivered. */

const stack = useStack();

describe('the command line', () => {
  it('ends quietly with exit 0 when the reader of its output goes away (export | head -1)', async () => {
    const { config, h } = await stack.start();
    await addPending(
      h,
      'big',
      Array.from({ length: 5000 }, (_, i) => `big-${i}`),
    );
    const child = spawn(process.execPath, [CLI, 'export', '--campaign', 'big'], {
      env: envOf(config),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let first = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString().split('\n')[0] ?? '';
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(JSON.parse(first)).toMatchObject({ request_id: 'big-0', status: 'pending' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('stops with one line naming SENDER_RATES or MESSAGING_LIMIT when it cannot be read', async () => {
    const env = envOf(testConfig());
    const rates = await runCli(['status'], { ...env, SENDER_RATES: '8613800138000=fast' });
    expect(rates.code).toBe(2);
    expect(rates.stderr).toBe(
      'wa-bulk: SENDER_RATES: expected NUMBER=RATE pairs separated by commas (e.g. 8613800138000=1000,8613800138001=20), and "8613800138000=fast" is not one\n',
    );
    const limit = await runCli(['worker'], { ...env, MESSAGING_LIMIT: 'lots' });
    expect(limit.code).toBe(2);
    expect(limit.stderr).toBe(
      'wa-bulk: MESSAGING_LIMIT: expected a positive integer, "unlimited" or "auto", got "lots"\n',
    );
  });

  it('answers --help for every command with its usage and each of its flags', async () => {
    for (const command of COMMANDS) {
      const { name } = command;
      const res = await runCli([name, '--help'], { PATH: process.env.PATH });
      expect({ name, code: res.code, stderr: res.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(res.stdout).toBe(`${help(command)}\n`);
      expect(res.stdout.startsWith(`usage: wa-bulk ${name}`)).toBe(true);
      const flags = Object.entries(command.flags).map(([flag, declared]) => flagLabel(flag, declared));
      expect({ name, missing: flags.filter((label) => !res.stdout.includes(`\n  ${label} `)) }).toEqual({
        name,
        missing: [],
      });
    }
  });

  it('lists the commands for --help, -h and help (exit 0) and for no command (exit 2); "help NAME" is "NAME --help"', async () => {
    const env = { PATH: process.env.PATH };
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const res = await runCli(args, env);
      expect({ args, code: res.code, stdout: res.stdout }).toEqual({
        args,
        code: args.length > 0 ? 0 : 2,
        stdout: `${overview(COMMANDS)}\n`,
      });
    }
    expect((await runCli(['help', 'pause'], env)).stdout).toBe(`${help(PAUSE)}\n`);
    expect((await runCli(['pause', '-h'], env)).stdout).toBe(`${help(PAUSE)}\n`);
    const unknown = await runCli(['help', 'paws'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('wa-bulk: unknown command "paws"');
  });

  it('refuses a bad flag value with exit 2 and a line naming the flag, for flags checked by the command or by the API', async () => {
    const { env } = await stack.start();
    const refusals: Array<[string[], string]> = [
      [['simulator', '--port', '99999'], '--port: expected an integer from 0 to 65535, got "99999"'],
      [
        ['watch', '--interval-ms', '9999999999'],
        '--interval-ms: expected an integer from 10 to 2147483647, got "9999999999"',
      ],
      [
        ['keys', 'create', '--name', 'a b', '--role', 'read'],
        '--name: expected a name of 1 to 64 letters, digits, "_", "-" or "." (not "dashboard"), got "a b"',
      ],
      [['webhooks', 'add', 'ftp://x'], 'URL: expected an http:// or https:// URL'],
      [['webhooks', 'add', 'https://example.com/hook', '--batch', '0'], '--batch: expected an integer from 1 to 1000'],
      [
        ['webhooks', 'add', 'https://example.com/hook', '--campaign', 'a b'],
        '--campaign: expected a campaign id (letters, digits, "_", "-", ".")',
      ],
    ];
    for (const [args, message] of refusals)
      expect([args, await runCli(args, env)]).toEqual([args, { code: 2, stdout: '', stderr: `wa-bulk: ${message}\n` }]);
  });

  it('result says an id enqueue left out for an opted-out recipient was never enqueued', async () => {
    const { env } = await stack.start();
    expect((await runCli(['suppress', 'add', '+44 7911 120 001'], env)).code).toBe(0);
    const file = tempFile(`${JSON.stringify({ to: '+447911120001', body: BODIES.text, request_id: 'sp-1' })}\n`);
    const enqueued = await runCli(['enqueue', file, '--campaign', 'sp', '--json'], env);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ accepted: 0, suppressed: 1 });
    expect(await runCli(['result', 'sp-1'], env)).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'wa-bulk: no message with request_id "sp-1": never enqueued (enqueue leaves out invalid lines and opted-out recipients, and counts them), or older than RESULT_TTL_DAYS\n',
    });
  });

  it('says "no campaign" with exit 1 for status and watch of an unknown campaign; lists campaigns newest first', async () => {
    const { h, env } = await stack.start();
    for (const args of [
      ['status', '--campaign', 'typo'],
      ['watch', '--campaign', 'typo', '--interval-ms', '50'],
    ]) {
      const res = await runCli(args, env);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        'wa-bulk: no campaign "typo" (unknown, or older than RESULT_TTL_DAYS; "wa-bulk campaigns" lists them)\n',
      );
    }
    await addPending(h, 'older', ['o-1', 'o-2']);
    await new Promise((r) => setTimeout(r, 5));
    await addPending(h, 'newer', ['n-1']);
    const listed = await runCli(['campaigns', '--json'], env);
    expect(listed.code).toBe(0);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => [r.id, r.total, r.pending])).toEqual([
      ['newer', 1, 1],
      ['older', 2, 2],
    ]);
    expect(rows[0].enqueued_at >= rows[1].enqueued_at).toBe(true);
    const table = await runCli(['campaigns'], env);
    expect(table.stdout.split('\n')[1]).toMatch(/^newer\s+sending\s+1\s+0\s+0\s+0\s+1\s+0\s+\d{4}-/);
  });

  it('watch writes plain lines ending with a newline, no \\r bars, when stderr is not a terminal', async () => {
    const { config, h } = await stack.start();
    await addPending(h, 'w', ['w-1']);
    await h.ledger.markSent('w-1', 'w', 'mid-w-1');
    const res = await runCli(['watch', '--campaign', 'w', '--interval-ms', '50'], envOf(config));
    expect(res.code).toBe(0);
    expect(res.stderr).not.toContain('\r');
    expect(res.stderr).toMatch(/\] 100\.0% 1 sent {2}0 dead {2}0 pending\n$/);
  });

  it('dlq replay leaves unknown_outcome dead letters out unless asked for by --reason, and says how many', async () => {
    const { h, env } = await stack.start();
    const ids = ['p-1', 'p-2', 'u-1', 'u-2', 'u-3'];
    await addPending(h, 'dlq', ids);
    for (const id of ids) {
      const error = id.startsWith('p')
        ? ({ code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' } as const)
        : ({
            code: null,
            http_status: null,
            reason: 'unknown_outcome',
            message: 'request timed out after it was sent',
          } as const);
      await deadLetter(
        h.dead,
        h.ledger,
        {
          request_id: id,
          campaign: 'dlq',
          payload: { to: ['447911123456'], body: BODIES.text as never, request_id: id },
        },
        error,
        1,
      );
    }
    const first = await runCli(['dlq', 'replay', '--campaign', 'dlq'], env);
    expect(first.stdout).toBe(
      'replayed 2 dead letter(s)\nleft out 3 unknown_outcome dead letter(s): EngageLab may have accepted them already; replay them with --reason unknown_outcome if a duplicate is acceptable\n',
    );
    expect(await h.dead.getWaitingCount()).toBe(3);
    const asked = await runCli(['dlq', 'replay', '--reason', 'unknown_outcome', '--json'], env);
    expect(JSON.parse(asked.stdout)).toEqual({
      action: 'replay',
      count: 3,
      left_out: 0,
      left_out_by: { unknown_outcome: 0, campaign_cancelled: 0 },
      already_sent: 0,
      malformed: 0,
    });
    expect(await h.dead.getWaitingCount()).toBe(0);
    expect(await h.ledger.campaign('dlq')).toMatchObject({ dead: 0, pending: 5 });
  });

  it("dlq replay refuses a cancelled campaign's dead letters and keeps them; among several campaigns it leaves them out", async () => {
    const { h, env, dashboard } = await stack.start({ dashboard: true });
    const letters = { rc1: ['rc1-1', 'rc1-2'], live: ['live-1'] };
    for (const [campaign, ids] of Object.entries(letters)) {
      await addPending(h, campaign, ids);
      for (const id of ids)
        await deadLetter(
          h.dead,
          h.ledger,
          { request_id: id, campaign, payload: { to: ['447911123456'], body: BODIES.text as never, request_id: id } },
          { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
          1,
        );
    }
    expect((await runCli(['cancel', '--campaign', 'rc1'], env)).code).toBe(0);
    const refusal =
      'campaign "rc1" is cancelled: its dead letters are not replayed (they would only end skipped) and stay in the dead-letter queue';

    expect(await runCli(['dlq', 'replay', '--campaign', 'rc1'], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: `wa-bulk: ${refusal}\n`,
    });
    const answer = await fetch(`${dashboard.url}/api/dead-letters/replay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ campaign: 'rc1' }),
    });
    expect([answer.status, await answer.json()]).toEqual([
      409,
      { error: refusal, campaign: 'rc1', state: 'cancelled' },
    ]);
    expect(await h.dead.getWaitingCount()).toBe(3);

    const all = await runCli(['dlq', 'replay', '--json'], env);
    expect(JSON.parse(all.stdout)).toEqual({
      action: 'replay',
      count: 1,
      left_out: 2,
      left_out_by: { unknown_outcome: 0, campaign_cancelled: 2 },
      already_sent: 0,
      malformed: 0,
    });
    const kept = (await h.dead.getJobs(['wait'])).map((job) => job.data.request_id).sort();
    expect(kept).toEqual(letters.rc1);
    expect(await h.ledger.campaign('rc1')).toMatchObject({ state: 'cancelled', dead: 2 });
  });

  it('says once, before any line, that a --language is wrong, however many lines the CSV has', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `+4479111${String(i).padStart(5, '0')},Ada`);
    const file = tempFile(`to,body_1\n${rows.join('\n')}\n`, 'customers.csv');
    const flags = ['--campaign', 'lang', '--template', 'order_update', '--language', 'en-US'];
    const res = await runCli(['enqueue', file, ...flags], envOf(testConfig()));
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'wa-bulk: --language: "en-US" is not a WhatsApp template language code (e.g. en, en_US, zh_CN)\n',
    );
  });

  it('hints --format csv for a CSV file whose name does not say CSV, rather than blaming --template', async () => {
    const file = tempFile('to,body_1\n+447911123456,Ada\n', 'customers.txt');
    const flags = ['--campaign', 'txt', '--template', 'order_update', '--language', 'en_US'];
    const res = await runCli(['enqueue', file, ...flags], envOf(testConfig()));
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `wa-bulk: --template and --text apply to CSV files, and "${file}" is read as JSONL (only a name ending in .csv is read as CSV): add --format csv\n`,
    );
  });
});
