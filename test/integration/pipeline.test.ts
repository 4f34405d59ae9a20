import { describe, expect, it } from '@jest/globals';
import type { Simulator } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, collect, envOf, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, TYPES, jsonl, phone } from '../fixtures/messages.js';

const stack = useStack();

/** Faults chosen per message through custom_args.fault; "once" faults answer wrong the first time only. */
function faultsByMessage(simulator: Simulator) {
  const seen = new Map<string, number>();
  simulator.setOverride((body) => {
    const fault = (body?.custom_args as { fault?: string } | undefined)?.fault;
    const id = String(body?.request_id);
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    switch (fault) {
      case 'error1000-once':
        return n === 1 ? 'error1000' : 'ok';
      case 'html503-once':
        return n === 1 ? 'html503' : 'ok';
      case 'ratelimit-once':
        return n === 1 ? 'rateLimit' : 'ok';
      case 'always503':
        return 'html503';
      case 'reset':
        return 'reset';
      case 'slow':
        return 'slow';
      case 'invalid3003':
        return { status: 400, body: { code: 3003, message: 'business validation failed' } };
      default:
        return undefined;
    }
  });
}

describe('the send pipeline', () => {
  it('sends every valid message once or dead-letters it with the right code and reason, and reports bad lines', async () => {
    const { sim, config, h } = await stack.start({
      simulator: { templates: ['order_update', 'login_code'], slowMs: 3000, retryAfterSeconds: 1 },
      config: { HTTP_TIMEOUT_MS: 800 },
    });
    faultsByMessage(sim);

    const lines: unknown[] = [];
    let n = 0;
    for (const type of TYPES)
      for (let i = 0; i < 5; i++) lines.push({ to: phone(n++), body: BODIES[type], request_id: `ok-${type}-${i}` });
    const faults = ['error1000-once', 'html503-once', 'ratelimit-once', 'always503', 'reset', 'slow', 'invalid3003'];
    for (const fault of faults)
      lines.push({ to: phone(n++), body: BODIES.text, request_id: `f-${fault}`, custom_args: { fault } });
    lines.push({
      to: phone(n),
      body: { type: 'template', template: { name: 'no_such_template', language: 'en' } },
      request_id: 'f-4001',
    });
    const bad = [
      '{"to": "+447911123456", "body": ',
      { to: 'nobody', body: BODIES.text },
      { to: phone(900), body: { type: 'text', text: { body: 'x'.repeat(4097) } } },
      { to: phone(901), body: { type: 'image', image: { link: 'ftp://example.com/a.png' } } },
    ];
    const firstBad = lines.length + 1;
    lines.push(...bad);
    // A line with two recipients becomes two jobs.
    lines.push({ to: [phone(950), phone(951)], body: BODIES.text, request_id: 'pair' });

    // Without preflight, so that the send path's own handling of an unknown template (4001) is what is tested.
    const enq = await runCli(
      ['enqueue', tempFile(jsonl(lines)), '--campaign', 'mixed', '--json', '--no-preflight'],
      envOf(config),
    );
    expect(enq.code).toBe(1);
    const summary = JSON.parse(enq.stdout);
    const validJobs = TYPES.length * 5 + faults.length + 1 + 2;
    expect(summary).toEqual({
      campaign: 'mixed',
      accepted: validJobs,
      rejected: 4,
      duplicates: 0,
      suppressed: 0,
      rejects: [
        { line: firstBad, error: expect.stringMatching(/^not valid JSON/) },
        { line: firstBad + 1, error: expect.stringMatching(/^to\[0\]: "nobody" is not an international phone number/) },
        { line: firstBad + 2, error: 'body.text.body: text is 4097 characters long; the limit is 4096' },
        { line: firstBad + 3, error: 'body.image.link: must be an http:// or https:// link' },
      ],
    });

    await stack.startWorker();
    await campaignDone(h.ledger, 'mixed');

    const records = new Map((await collect(h.ledger.export('mixed'))).map((r) => [r.request_id, r]));
    expect(records.size).toBe(validJobs);
    for (const type of TYPES) for (let i = 0; i < 5; i++) expect(records.get(`ok-${type}-${i}`)?.status).toBe('sent');
    expect(records.get('pair.1')).toMatchObject({ status: 'sent', to: phone(950).slice(1) });
    expect(records.get('pair.2')).toMatchObject({ status: 'sent', to: phone(951).slice(1) });
    expect(records.get('f-error1000-once')).toMatchObject({ status: 'sent', attempts: 2 });
    expect(records.get('f-html503-once')).toMatchObject({ status: 'sent', attempts: 2 });
    expect(records.get('f-ratelimit-once')).toMatchObject({ status: 'sent', attempts: 2 });
    expect(records.get('f-always503')).toMatchObject({
      status: 'dead',
      error: { code: null, http_status: 503, reason: 'retries_exhausted' },
    });
    expect(records.get('f-reset')).toMatchObject({ status: 'dead', error: { reason: 'unknown_outcome' } });
    expect(records.get('f-slow')).toMatchObject({ status: 'dead', error: { reason: 'unknown_outcome' } });
    expect(records.get('f-invalid3003')).toMatchObject({
      status: 'dead',
      error: { code: 3003, http_status: 400, reason: 'permanent' },
    });
    expect(records.get('f-4001')).toMatchObject({
      status: 'dead',
      error: { code: 4001, reason: 'permanent' },
      attempts: 1,
    });

    // Retry arithmetic: SEND_ATTEMPTS × (RETRY_RETRIES + 1) = 2 × 2 requests for a message that always fails.
    expect(records.get('f-always503')?.attempts).toBe(4);
    // Nothing accepted twice by the API; every sent record has the message_id it returned.
    expect(sim.getStats().duplicates).toBe(0);
    for (const r of records.values()) if (r.status === 'sent') expect(r.message_id).toMatch(/^[0-9a-f]{20}$/);
    expect(await h.ledger.requestIdOf(records.get('ok-text-0')?.message_id ?? '')).toBe('ok-text-0');

    const dead = await h.dead.getJobs(['wait']);
    expect(dead.map((j) => j.id).sort()).toEqual(['f-4001', 'f-always503', 'f-invalid3003', 'f-reset', 'f-slow']);
    expect(await h.ledger.campaign('mixed')).toMatchObject({
      id: 'mixed',
      total: validJobs,
      sent: validJobs - 5,
      dead: 5,
      pending: 0,
    });
  });

  it('enqueues nothing the second time and causes no request', async () => {
    const { sim, config, h } = await stack.start({ simulator: {} });
    const path = tempFile(jsonl(TYPES.map((type, i) => ({ to: phone(i), body: BODIES[type] }))));
    const first = JSON.parse((await runCli(['enqueue', path, '--campaign', 'again', '--json'], envOf(config))).stdout);
    expect(first).toMatchObject({ accepted: TYPES.length, duplicates: 0 });
    await stack.startWorker();
    await campaignDone(h.ledger, 'again');
    const requests = sim.getStats().requests;
    expect(requests).toBe(TYPES.length);

    const second = JSON.parse((await runCli(['enqueue', path, '--campaign', 'again', '--json'], envOf(config))).stdout);
    expect(second).toMatchObject({ accepted: 0, duplicates: TYPES.length, rejected: 0 });
    expect(await h.send.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });

    // A job for a message the ledger already has as sent completes without an HTTP request.
    const record = (await collect(h.ledger.export('again')))[0];
    await h.send.add(
      'send',
      {
        request_id: record?.request_id ?? '',
        campaign: 'again',
        payload: { to: ['447911000000'], body: { type: 'text', text: { body: 'x' } } },
      },
      { jobId: record?.request_id ?? '' },
    );
    await new Promise<void>((resolve) => stack.worker.workers.get('default')?.once('completed', () => resolve()));
    expect(sim.getStats().requests).toBe(requests);
  });

  it('re-enqueues a message recorded as pending whose job was lost', async () => {
    const { config, h } = await stack.start();
    const path = tempFile(jsonl([{ to: phone(1), body: BODIES.text, request_id: 'lost-1' }]));
    await runCli(['enqueue', path, '--campaign', 'lost', '--json'], envOf(config));
    await (await h.send.getJob('lost-1'))?.remove();
    const again = JSON.parse((await runCli(['enqueue', path, '--campaign', 'lost', '--json'], envOf(config))).stdout);
    expect(again).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await h.send.getJob('lost-1')).toBeDefined();
    expect((await h.ledger.campaign('lost'))?.total).toBe(1);
  });

  it('replays a dead letter once its fault is gone, under its original request_id', async () => {
    const { sim, config, h } = await stack.start({ simulator: { templates: ['order_update'] } });
    const path = tempFile(
      jsonl([
        {
          to: phone(1),
          body: { type: 'template', template: { name: 'new_template', language: 'en' } },
          request_id: 'tpl-1',
        },
      ]),
    );
    await runCli(['enqueue', path, '--campaign', 'replay', '--json', '--no-preflight'], envOf(config));
    await stack.startWorker();
    await campaignDone(h.ledger, 'replay');
    expect(await h.ledger.get('tpl-1')).toMatchObject({ status: 'dead', error: { code: 4001 } });

    const listed = await runCli(['dlq', 'list', '--campaign', 'replay', '--json'], envOf(config));
    expect(JSON.parse(listed.stdout)).toMatchObject({
      request_id: 'tpl-1',
      error: { code: 4001, reason: 'permanent' },
    });

    sim.options.templates?.push('new_template');
    const replay = await runCli(['dlq', 'replay', '--code', '4001', '--json'], envOf(config));
    expect(JSON.parse(replay.stdout)).toEqual({
      action: 'replay',
      count: 1,
      left_out: 0,
      left_out_by: { unknown_outcome: 0, campaign_cancelled: 0 },
      already_sent: 0,
      malformed: 0,
    });
    await campaignDone(h.ledger, 'replay');
    expect(await h.ledger.get('tpl-1')).toMatchObject({ status: 'sent', error: null });
    expect(sim.acceptedByRequestId.get('tpl-1')).toBe(1);
    expect(await h.dead.getJobCountByTypes('waiting')).toBe(0);
    expect(await h.ledger.campaign('replay')).toMatchObject({ sent: 1, dead: 0, pending: 0 });
  });
});
