import { describe, expect, it } from '@jest/globals';
import { freePort } from '../../src/dev/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { KEY, SECRET, campaignDone, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl } from '../fixtures/messages.js';

const PASSWORD = 'dashboard-pass-5b1e7c';
const stack = useStack();

describe('logs', () => {
  it('never contain the API secret or the dashboard password, nor do API errors or /metrics, and mask phone numbers', async () => {
    const port = await freePort();
    const { h, env } = await stack.start({
      simulator: { templates: ['order_update'], faults: { error1000: 0.2 } },
      config: { LOG_LEVEL: 'debug', DASHBOARD_PASSWORD: PASSWORD, DASHBOARD_PORT: port },
    });
    const numbers = ['447400555001', '447400555002', '447400555003'];
    const file = tempFile(
      jsonl([
        { to: `+${numbers[0]}`, body: BODIES.text },
        { to: `+${numbers[1]}`, body: { type: 'template', template: { name: 'unknown_template', language: 'en' } } },
        { to: `00${numbers[2]}`, body: BODIES.image },
        { to: 'not-a-phone', body: BODIES.text },
      ]),
    );

    // Without preflight: the unknown template is dead-lettered by the worker, whose log line names its number.
    const enqueued = await runCli(['enqueue', file, '--campaign', 'logs', '--no-preflight'], env);
    const worker = await stack.startCli(['worker'], env);
    const dashboard = await stack.startCli(['dashboard'], env, 'dashboard listening');
    await campaignDone(h.ledger, 'logs');
    const url = `http://127.0.0.1:${port}`;
    await fetch(`${url}/queues`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}x`).toString('base64')}` },
    });
    const authorised = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    // What the dashboard serves: an API error and the metrics.
    const notFound = await fetch(`${url}/api/messages/nothing`, { headers: authorised });
    expect(notFound.status).toBe(404);
    const apiError = await notFound.text();
    const metrics = await (await fetch(`${url}/metrics`, { headers: authorised })).text();
    expect(metrics).toContain('wa_bulk_');
    const status = await runCli(['status', '--campaign', 'logs'], env);
    const wrongConfig = await runCli(['status'], { ...env, SEND_RATE_MAX: 'many', CALLBACK_TOKEN: `${PASSWORD}!` });
    worker.child.kill('SIGTERM');
    dashboard.child.kill('SIGTERM');
    await Promise.all([worker.exited, dashboard.exited]);

    const logs = [
      enqueued.stdout,
      enqueued.stderr,
      worker.output(),
      dashboard.output(),
      status.stdout,
      status.stderr,
      wrongConfig.stderr,
      apiError,
      metrics,
    ].join('\n');
    expect(worker.output()).toContain('dead letter: template unknown_template (en) does not exist');
    expect(worker.output()).toContain('4474******02');
    expect(wrongConfig.stderr).toMatch(/^wa-bulk: /);
    for (const secret of [SECRET, PASSWORD, Buffer.from(`${KEY}:${SECRET}`).toString('base64')])
      expect(logs).not.toContain(secret);
    for (const number of numbers) expect(logs).not.toContain(number);
  });
});
