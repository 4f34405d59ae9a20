import { afterEach, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import { createLogger } from '../../src/log.js';
import { BODIES } from '../fixtures/messages.js';
import { harness, testConfig, type Harness } from '../helpers/env.js';

/** A request the dashboard fails on is logged once, with where it went and the error's stack. */

const PASSWORD = 'failure-log-password';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
let h: Harness | undefined;
let dashboard: Dashboard | undefined;

afterEach(async () => {
  await dashboard?.close();
  await h?.close();
  dashboard = h = undefined;
});

describe('a dashboard request that fails', () => {
  it('logs its method, route pattern, status and error with its stack, once, without the query string', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    let output = '';
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dashboard = await startDashboard(config, createLogger({ destination: out, pretty: false }));
    // A dead letter whose time no Date can hold: listing it throws "Invalid time value".
    const error = { code: 4001, http_status: 400, reason: 'permanent', message: 'bad' };
    const payload = { to: ['447911123456'], body: BODIES.text as never };
    await h.dead.add('dead', {
      request_id: 'far-1',
      campaign: 'far',
      payload,
      error,
      attempts: 1,
      died_at: 9e15,
    } as never);

    const res = await fetch(`${dashboard.url}/api/dead-letters?campaign=far&code=4001`, { headers: AUTH });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    await dashboard.close();
    dashboard = undefined;

    const lines = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'dashboard request failed');
    expect(lines).toHaveLength(1);
    const [line] = lines as [Record<string, unknown>];
    expect(line).toMatchObject({
      level: 50,
      method: 'GET',
      route: '/api/dead-letters',
      status: 500,
      err: { type: 'RangeError', message: 'Invalid time value' },
    });
    expect((line.err as { stack: string }).stack).toMatch(/RangeError: Invalid time value\n\s+at /);
    expect(JSON.stringify(line)).not.toContain('code=4001');
    expect(JSON.stringify(line)).not.toContain('447911123456');
  });
});
