import { afterEach, describe, expect, it } from '@jest/globals';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import type { DeadError } from '../../src/queue.js';
import { runCli } from '../helpers/cli.js';
import { addPending, envOf, harness, testConfig, type Harness } from '../helpers/env.js';
import { BODIES } from '../fixtures/messages.js';

/** What operators do instead of Bull Board's buttons: the dlq commands, removing a waiting message. */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const PERMANENT: DeadError = { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' };

/** Two well-formed dead letters of campaign `dl` and, between them, two jobs that are not dead letters. */
async function deadLettersWithJunk(harnessed: Harness): Promise<string[]> {
  await addPending(harnessed, 'dl', ['good-1', 'good-2']);
  await harnessed.send.drain();
  const send = (id: string) => ({
    request_id: id,
    campaign: 'dl',
    payload: { to: ['447911123456'], body: BODIES.text as never, request_id: id },
  });
  await deadLetter(harnessed.dead, harnessed.ledger, send('good-1'), PERMANENT, 1);
  // As Bull Board's "add" did: any name, any JSON.
  const junk = [
    await harnessed.dead.add('junk', { hello: 'world' } as never),
    await harnessed.dead.add('half', { request_id: 'half', campaign: 'dl', error: 'boom' } as never),
  ];
  await deadLetter(harnessed.dead, harnessed.ledger, send('good-2'), PERMANENT, 1);
  return junk.map((job) => job.id as string);
}

const malformedLines = (stderr: string) => stderr.split('\n').filter((line) => line.includes('not one wa-bulk wrote'));

describe('dlq with a job it did not write in the dead-letter queue', () => {
  it('list and list --json skip it with one line naming its job id, and list the good ones', async () => {
    const config = testConfig();
    h = harness(config);
    const junk = await deadLettersWithJunk(h);

    const text = await runCli(['dlq', 'list'], envOf(config));
    expect(text.code).toBe(0);
    expect(
      text.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/\s+/)[0]),
    ).toEqual(['good-1', 'good-2']);
    const lines = malformedLines(text.stderr);
    expect(lines).toHaveLength(2);
    for (const id of junk) expect(lines.some((line) => line.startsWith(`wa-bulk: dead letter "${id}" `))).toBe(true);
    expect(lines.every((line) => line.endsWith(': skipped'))).toBe(true);
    expect(text.stderr).toContain('2 dead letter(s)');

    const json = await runCli(['dlq', 'list', '--json'], envOf(config));
    expect(json.code).toBe(0);
    const listed = json.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { request_id: string });
    expect(listed.map((entry) => entry.request_id)).toEqual(['good-1', 'good-2']);
    expect(malformedLines(json.stderr)).toEqual(lines);
  });

  it('replay, with and without filters and --json, skips it with one line and replays the good ones', async () => {
    const config = testConfig();
    h = harness(config);
    const junk = await deadLettersWithJunk(h);

    const none = await runCli(['dlq', 'replay', '--code', '9999'], envOf(config));
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('replayed 0 dead letter(s)\n');
    expect(malformedLines(none.stderr)).toHaveLength(2);

    const one = await runCli(['dlq', 'replay', '--campaign', 'dl', '--reason', 'permanent', '--json'], envOf(config));
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ action: 'replay', count: 2, left_out: 0, already_sent: 0, malformed: 2 });
    const lines = malformedLines(one.stderr);
    expect(lines.map((line) => /dead letter "([^"]+)"/.exec(line)?.[1]).sort()).toEqual([...junk].sort());
    expect(lines.every((line) => line.endsWith(': skipped, not replayed'))).toBe(true);
    expect(await h.ledger.campaign('dl')).toMatchObject({ dead: 0, pending: 2 });

    const again = await runCli(['dlq', 'replay'], envOf(config));
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('replayed 0 dead letter(s)\n');
    expect(malformedLines(again.stderr)).toHaveLength(2);
    expect((await h.dead.getJobs(['wait'])).map((job) => job.id).sort()).toEqual([...junk].sort());
  });

  it('purge with a filter leaves it; purge without one drops it, saying so', async () => {
    const config = testConfig();
    h = harness(config);
    const junk = await deadLettersWithJunk(h);

    const filtered = await runCli(['dlq', 'purge', '--campaign', 'dl', '--json'], envOf(config));
    expect(JSON.parse(filtered.stdout)).toEqual({ action: 'purge', count: 2, malformed: 2 });
    expect(malformedLines(filtered.stderr)).toHaveLength(2);
    expect((await h.dead.getJobs(['wait'])).map((job) => job.id).sort()).toEqual([...junk].sort());

    const all = await runCli(['dlq', 'purge'], envOf(config));
    expect(all.stdout).toBe('purged 0 dead letter(s)\n');
    expect(malformedLines(all.stderr).every((line) => line.endsWith(': dropped'))).toBe(true);
    expect(await h.dead.getWaitingCount()).toBe(0);
    // The ledger keeps the good ones' records.
    expect(await h.ledger.campaign('dl')).toMatchObject({ dead: 2 });
  });
});
