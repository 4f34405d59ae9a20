import { afterAll, describe, expect, it } from '@jest/globals';
import type { Job } from 'bullmq';
import { contract, startDashboard } from '../helpers/contract.js';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import type { DeadError, SendJobData } from '../../src/queue.js';
import type { SimulatorOptions } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/cli.js';
import { addPending, campaignDone, envOf, tempFile, testConfig, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** What operators do instead of Bull Board's buttons: the dlq commands, removing a waiting message. */

const stack = useStack();

/** The test's stack with the simulator, recording the request_id of every request it gets. */
async function recordingSimulator(options: Partial<SimulatorOptions> = {}) {
  const { sim, config, h, env } = await stack.start({ simulator: options });
  const seen: string[] = [];
  sim.setOverride((body) => {
    seen.push(String(body?.request_id));
    return undefined;
  });
  return { seen, config, h, env };
}

/** Enqueues template messages `<prefix>-0` … through the command line. */
async function enqueueOtps(config: ReturnType<typeof testConfig>, campaign: string, ids: string[]): Promise<void> {
  const lines = ids.map((id, i) => ({ to: phone(i), body: BODIES.otp, request_id: id }));
  const res = await runCli(['enqueue', tempFile(jsonl(lines)), '--campaign', campaign, '--json'], envOf(config));
  expect(JSON.parse(res.stdout)).toMatchObject({ accepted: ids.length });
}

describe('removing one message (wa-bulk remove, POST /api/messages/:id/remove)', () => {
  it('takes a waiting message back: skipped, reason removed, counted, never sent; the others are', async () => {
    const { seen, config, h, env } = await recordingSimulator();
    await enqueueOtps(config, 'rm', ['rm-0', 'rm-1', 'rm-2']);

    const res = await runCli(['remove', 'rm-1', '--json'], env);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      request_id: 'rm-1',
      status: 'skipped',
      error: { reason: 'removed', code: null },
    });
    expect((await h.send.getJobs(['wait'])).map((job) => job.id).sort()).toEqual(['rm-0', 'rm-2']);
    expect(await h.ledger.campaign('rm')).toMatchObject({ total: 3, skipped: 1, pending: 2 });

    await stack.startWorker();
    await campaignDone(h.ledger, 'rm');
    expect(seen.sort()).toEqual(['rm-0', 'rm-2']);
    expect(await h.ledger.campaign('rm')).toMatchObject({ sent: 2, skipped: 1, pending: 0, state: 'done' });

    const again = await runCli(['remove', 'rm-1'], env);
    expect([again.code, again.stderr]).toEqual([1, 'wa-bulk: message "rm-1" not removed: it is skipped already\n']);
    const sent = await runCli(['remove', 'rm-0'], env);
    expect([sent.code, sent.stderr]).toEqual([
      1,
      'wa-bulk: message "rm-0" not removed: it is sent: EngageLab accepted it\n',
    ]);
    expect((await runCli(['remove', 'nobody'], env)).code).toBe(1);
    expect(await h.ledger.get('rm-0')).toMatchObject({ status: 'sent' });
  });

  it('refuses a message whose request is in flight, naming that, and it is sent as usual', async () => {
    const { seen, config, h } = await recordingSimulator({ latencyMs: 2000 });
    await enqueueOtps(config, 'fl', ['fl-0']);
    await stack.startWorker();
    await until(async () => (await h.ledger.get('fl-0'))?.attempts === 1);

    const res = await runCli(['remove', 'fl-0'], envOf(config));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('not removed: it is in flight: a request for it may already have reached EngageLab');
    await campaignDone(h.ledger, 'fl');
    expect(seen).toEqual(['fl-0']);
    expect(await h.ledger.get('fl-0')).toMatchObject({ status: 'sent' });
  });

  it("takes back a message waiting out a retry's backoff: its job leaves the queue, no further request", async () => {
    const { sim, config, h } = await stack.start({
      simulator: {},
      config: { SEND_ATTEMPTS: 3, SEND_BACKOFF_MS: 600_000 },
    });
    let requests = 0;
    sim.setOverride(() => {
      requests++;
      return { status: 500, body: { code: 1000, message: 'busy' } };
    });
    await enqueueOtps(config, 'rt', ['rt-0']);
    await stack.startWorker();
    await until(async () => (await (await h.send.getJob('rt-0'))?.getState()) === 'delayed');
    const made = requests;
    expect(made).toBeGreaterThan(0);
    expect((await h.ledger.get('rt-0'))?.attempts).toBe(made);

    const dashboard = await stack.startDashboard({ ...config, DASHBOARD_PORT: 0 }, startDashboard);
    const post = (id: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
      fetch(`${dashboard.url}/api/messages/${id}/remove`, { method: 'POST', headers, body: '{}' });
    expect((await post('rt-0', { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect(
      (await post('rt-0', { 'Content-Type': 'application/json', Origin: 'https://elsewhere.example' })).status,
    ).toBe(403);
    const answer = await post('rt-0');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ request_id: 'rt-0', status: 'skipped', error: { reason: 'removed' } });
    expect(await h.send.getJob('rt-0')).toBeUndefined();
    expect(await h.ledger.campaign('rt')).toMatchObject({ skipped: 1, pending: 0 });
    const twice = await post('rt-0');
    expect(twice.status).toBe(409);
    expect(await twice.json()).toMatchObject({ state: 'skipped' });
    expect((await post('nobody')).status).toBe(404);
    expect(requests).toBe(made);
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toMatch(/wa_bulk_messages_skipped_total\{reason="removed"\} 1/);
  });
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
    const { config, h } = await stack.start();
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
    const { config, h } = await stack.start();
    const junk = await deadLettersWithJunk(h);

    const none = await runCli(['dlq', 'replay', '--code', '9999'], envOf(config));
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('replayed 0 dead letter(s)\n');
    expect(malformedLines(none.stderr)).toHaveLength(2);

    const one = await runCli(['dlq', 'replay', '--campaign', 'dl', '--reason', 'permanent', '--json'], envOf(config));
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({
      action: 'replay',
      count: 2,
      left_out: 0,
      left_out_by: { unknown_outcome: 0, campaign_cancelled: 0 },
      already_sent: 0,
      malformed: 2,
    });
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
    const { config, h } = await stack.start();
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

describe('dead letters over HTTP (GET /api/dead-letters, POST …/replay, …/purge)', () => {
  it('list, replay and purge as dlq does, naming a malformed job instead of failing', async () => {
    const { config, h } = await stack.start({ config: { DASHBOARD_PORT: 0 } });
    const junk = await deadLettersWithJunk(h);
    const dashboard = await stack.startDashboard(config, startDashboard);
    const url = dashboard.url;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    const listed = await fetch(`${url}/api/dead-letters?campaign=dl&limit=1`);
    expect(listed.status).toBe(200);
    const list = (await listed.json()) as { dead_letters: Array<{ request_id: string }>; malformed: unknown[] };
    expect(list).toMatchObject({ dead_letters: [{ request_id: 'good-1', error: { code: 4001 } }], truncated: true });
    expect(list.malformed.map((m) => (m as { id: string }).id).sort()).toEqual([...junk].sort());
    expect((await fetch(`${url}/api/dead-letters?reason=bored`)).status).toBe(400);
    expect((await post('/api/dead-letters/replay', { code: 'x' })).status).toBe(400);

    const replay = await post('/api/dead-letters/replay', { campaign: 'dl', code: 4001 });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ action: 'replay', count: 2, left_out: 0, already_sent: 0 });
    expect(await h.ledger.campaign('dl')).toMatchObject({ dead: 0, pending: 2 });

    const purge = await post('/api/dead-letters/purge', {});
    expect(await purge.json()).toMatchObject({ action: 'purge', count: 0, malformed_dropped: true });
    expect(await h.dead.getWaitingCount()).toBe(0);
  });
});

describe('a send job changed behind the ledger (Bull Board edit, a Redis write)', () => {
  it('is not sent: its worker dead-letters it, reason tampered, under its own request_id and campaign', async () => {
    const { seen, config, h } = await recordingSimulator();
    const ids = ['tp-clean', 'tp-to', 'tp-body', 'tp-campaign', 'tp-id'];
    await enqueueOtps(config, 'tp', ids);
    const edit = async (id: string, change: (data: SendJobData) => SendJobData) => {
      const job = (await h.send.getJob(id)) as Job<SendJobData>;
      await job.updateData(change(job.data));
    };
    await edit('tp-to', (d) => ({ ...d, payload: { ...d.payload, to: ['447700900123'] } }));
    await edit('tp-body', (d) => ({
      ...d,
      payload: { ...d.payload, body: { type: 'text', text: { body: 'click https://phish.example' } } as never },
    }));
    await edit('tp-campaign', (d) => ({ ...d, campaign: 'elsewhere' }));
    await edit('tp-id', (d) => ({ ...d, request_id: 'tp-clean' }));

    await stack.startWorker();
    await campaignDone(h.ledger, 'tp');
    expect(seen).toEqual(['tp-clean']);
    expect(await h.ledger.campaign('tp')).toMatchObject({ sent: 1, dead: 4, pending: 0 });
    const differs: Record<string, string> = {
      'tp-to': 'its to is not the one the ledger recorded',
      'tp-body': 'its payload is not the one the ledger recorded',
      'tp-campaign': 'its campaign is not the one the ledger recorded',
      'tp-id': 'its request_id is not the one the ledger recorded',
    };
    for (const [id, words] of Object.entries(differs)) {
      const record = await h.ledger.get(id);
      expect([id, record?.status, record?.error?.reason]).toEqual([id, 'dead', 'tampered']);
      expect(record?.error?.message).toContain(words);
    }
    expect(await h.ledger.get('tp-clean')).toMatchObject({ status: 'sent' });

    // The dead letters hold the message the job id names, in its recorded campaign, with the payload found.
    // A replay sends those whose payload is the recorded one; a changed payload is refused again.
    const listed = await runCli(['dlq', 'list', '--reason', 'tampered', '--json'], envOf(config));
    const letters = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { request_id: string; campaign: string; to: string });
    expect(letters.map((l) => [l.request_id, l.campaign]).sort()).toEqual(
      ['tp-body', 'tp-campaign', 'tp-id', 'tp-to'].map((id) => [id, 'tp']),
    );
    expect(letters.find((l) => l.request_id === 'tp-to')?.to).toBe('447700900123');
    const replay = await runCli(['dlq', 'replay', '--reason', 'tampered', '--json'], envOf(config));
    expect(JSON.parse(replay.stdout)).toMatchObject({ count: 4 });
    await campaignDone(h.ledger, 'tp');
    expect(await h.ledger.campaign('tp')).toMatchObject({ sent: 3, dead: 2, pending: 0 });
    expect(seen.sort()).toEqual(['tp-campaign', 'tp-clean', 'tp-id']);
    expect((await h.dead.getJobs(['wait'])).map((job) => job.id).sort()).toEqual(['tp-body', 'tp-to']);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
