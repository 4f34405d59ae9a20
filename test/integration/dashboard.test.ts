import { afterAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import type { Config, ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { BODIES, phone } from '../fixtures/messages.js';
import { silentLogger, testConfig, until } from '../helpers/env.js';
import { AuditLog, type AuditEntry } from '../../src/access/audit.js';
import { useStack } from '../helpers/stack.js';
import { contract, startDashboard } from '../helpers/contract.js';

const PASSWORD = 'correct horse battery staple';
const stack = useStack();

/** The dashboard behind PASSWORD (and these settings), its answers checked against the contract. */
async function start(overrides: ConfigInput = {}): Promise<{ config: Config; url: string }> {
  const { config, dashboard } = await stack.start({
    config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, ...overrides },
    dashboard: startDashboard,
  });
  return { config, url: dashboard.url };
}

const auth = (user = 'admin', password = PASSWORD) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('dashboard security', () => {
  it('needs Basic auth everywhere but /healthz when DASHBOARD_PASSWORD is set', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (const path of ['/queues', '/metrics', '/api/campaigns/x', '/api/messages/x', '/queues/api/queues']) {
      expect((await fetch(`${url}${path}`)).status).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: auth('admin', 'wrong') })).status).toBe(401);
    }
    expect((await fetch(`${url}/queues`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${url}/queues`, { headers: auth('someone', PASSWORD) })).status).toBe(401);
  });

  it("keeps a wrong password away from Bull Board's actions", async () => {
    const { url } = await start();
    const pause = await fetch(`${url}/queues/api/queues/send/pause`, {
      method: 'PUT',
      headers: auth('admin', 'guess'),
    });
    expect(pause.status).toBe(401);
    expect(await stack.h.send.isPaused()).toBe(false);
    const clean = await fetch(`${url}/queues/api/queues/dead/clean/waiting`, {
      method: 'PUT',
      headers: auth('admin', 'guess'),
    });
    expect(clean.status).toBe(401);
  });

  it('refuses to start on a non-loopback host without a password', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_HOST: '0.0.0.0' });
    await expect(startDashboard(config, silentLogger())).rejects.toThrow(
      'DASHBOARD_HOST: "0.0.0.0" is not a loopback address; set DASHBOARD_PASSWORD to serve the dashboard on other hosts',
    );
  });

  it('without a password answers only requests addressed to localhost', async () => {
    const { url } = await start({ DASHBOARD_PASSWORD: undefined });
    expect((await fetch(`${url}/api/campaigns/none`)).status).toBe(404);
    // fetch() will not send another Host header; node:http will, as a rebinding attacker's browser does.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http
        .get(`${url}/api/campaigns/none`, { headers: { Host: 'attacker.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', reject);
    });
    expect(status).toBe(403);
  });
});

/** A request with headers a browser's fetch() would not let a page set (Host, Forwarded), as an attacker sends. */
function raw(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the edges of the dashboard', () => {
  it('without a password refuses every Host that only starts like loopback (DNS rebinding), and proxied requests', async () => {
    const { url } = await start({ DASHBOARD_PASSWORD: undefined });
    const port = new URL(url).port;
    for (const host of [
      `127.0.0.1.evil.test:${port}`,
      '127.evil.test',
      `127.0.0.1.nip.io:${port}`,
      '[::1].evil.test',
      'localhost:1@evil.test',
    ]) {
      const res = await raw(url, '/api/campaigns/none', { headers: { Host: host } });
      expect([host, res.status]).toEqual([host, 403]);
      // The callback receiver, without a token, obeys the same rule.
      const callback = await raw(url, '/callbacks/engagelab', {
        method: 'POST',
        headers: { Host: host, 'Content-Type': 'application/json' },
        body: '{"rows":[{"notification":{"event":"insufficient_balance"}}]}',
      });
      expect([host, callback.status]).toEqual([host, 403]);
    }
    for (const header of ['Forwarded', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Real-IP']) {
      const res = await raw(url, '/api/campaigns/none', {
        headers: { Host: `127.0.0.1:${port}`, [header]: '203.0.113.9' },
      });
      expect([header, res.status, JSON.parse(res.body).error]).toEqual([
        header,
        403,
        'this dashboard has no DASHBOARD_PASSWORD: behind a proxy it needs one',
      ]);
    }
    expect((await raw(url, '/api/campaigns/none', { headers: { Host: `localhost:${port}` } })).status).toBe(404);
  });

  it('takes callbacks at the URL of either of two tokens while one replaces the other, and at no other', async () => {
    const [current, previous] = ['tok_current_0123456789', 'tok_previous_012345678'];
    const { url } = await start({ CALLBACK_TOKEN: `${current},${previous}` });
    const post = (path: string) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ rows: [{ message_id: 'm-1', status: { message_status: 'delivered' } }] }),
      });
    expect((await post(`/callbacks/engagelab/${current}`)).status).toBe(200);
    expect((await post(`/callbacks/engagelab/${previous}`)).status).toBe(200);
    for (const path of [
      '/callbacks/engagelab',
      `/callbacks/engagelab/${current}x`,
      `/callbacks/engagelab/${current},${previous}`,
    ])
      expect([path, (await post(path)).status]).toEqual([path, 404]);
  });

  it('sends every page unframeable and JSON unsniffed and uncached', async () => {
    const { url } = await start();
    for (const path of ['/campaigns', '/queues', '/api/campaigns', '/healthz']) {
      const res = await fetch(`${url}${path}`, { headers: auth() });
      expect([path, res.headers.get('x-frame-options')]).toEqual([path, 'DENY']);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${url}/api/campaigns`, { headers: auth() })).headers.get('cache-control')).toBe('no-store');
  });

  it("takes no change under /queues from another site, and Bull Board's send and dead queues are read-only", async () => {
    const { url } = await start();
    // The cross-site form the review reproduced: text/plain, the browser's cached credentials, another Origin.
    for (const queue of ['send', 'dead']) {
      const res = await fetch(`${url}/queues/api/queues/${queue}/add`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'text/plain', Origin: 'http://attacker.test' },
        body: '{"x":"="}',
      });
      expect([queue, res.status]).toEqual([queue, 415]);
      const sameSite = await fetch(`${url}/queues/api/queues/${queue}/add`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/json', Origin: 'http://attacker.test' },
        body: '{"name":"x","data":{}}',
      });
      expect([queue, sameSite.status]).toEqual([queue, 403]);
    }
    const queues = (await (await fetch(`${url}/queues/api/queues`, { headers: auth() })).json()) as {
      queues: Array<{ name: string; readOnlyMode: boolean }>;
    };
    expect(queues.queues.filter((q) => !q.readOnlyMode).map((q) => q.name)).toEqual([]);
    expect(await stack.h.dead.count()).toBe(0);
    expect(await stack.h.send.count()).toBe(0);
  });

  it('refuses a client after 10 failed logins in a minute, logs it once without the password, and says up or down only on /healthz', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const { config } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    const dashboard = await stack.startDashboard(
      config,
      startDashboard,
      createLogger({ destination: out, pretty: false }),
    );
    const url = dashboard.url;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await fetch(`${url}/api/campaigns`, { headers: auth('admin', `guess-${i}`) })).status);
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429, 429]);
    expect((await fetch(`${url}/api/campaigns`, { headers: auth() })).status).toBe(429);
    const warnings = lines
      .join('')
      .split('\n')
      .filter((line) => line.includes('refused credentials'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('guess');
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
  });
});

describe('the throttle of refused credentials', () => {
  const guesses = async (url: string, headers: (i: number) => Record<string, string>, count = 10) => {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++)
      statuses.push((await fetch(`${url}/api/campaigns`, { headers: headers(i) })).status);
    return statuses;
  };
  const from = (client: string) => ({ 'X-Forwarded-For': client });

  it('behind a proxy named in DASHBOARD_TRUSTED_PROXIES, locks out the forwarded client, not everyone', async () => {
    const { url } = await start({ DASHBOARD_TRUSTED_PROXIES: '1' });
    const attacker = from('203.0.113.7');
    expect(await guesses(url, (i) => ({ ...attacker, ...auth('admin', `guess-${i}`) }), 11)).toEqual([
      ...Array<number>(10).fill(401),
      429,
    ]);
    expect((await fetch(`${url}/api/campaigns`, { headers: { ...attacker, ...auth() } })).status).toBe(429);
    // The operator, behind the same proxy.
    expect((await fetch(`${url}/api/campaigns`, { headers: { ...from('198.51.100.2'), ...auth() } })).status).toBe(200);
  });

  it('without DASHBOARD_TRUSTED_PROXIES, ignores X-Forwarded-For: a client cannot escape by naming another', async () => {
    const { url } = await start();
    const statuses = await guesses(url, (i) => ({ ...from(`203.0.113.${i + 1}`), ...auth('admin', `guess-${i}`) }), 11);
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
  });

  it('counts refused API keys with failed logins: then the right password is refused too', async () => {
    const { url } = await start();
    const statuses = await guesses(url, (i) => ({ Authorization: `Bearer wab_guess${i}` }), 11);
    expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
    expect((await fetch(`${url}/api/campaigns`, { headers: auth() })).status).toBe(429);
    // Recorded once answered.
    const audit = new AuditLog(stack.h.redis, stack.h.keys, 86_400_000);
    await until(async () => (await audit.read({ actor: 'unknown' })).some((e) => e.outcome === 'refused 429'));
  });
});

describe('the HTTP producer API', () => {
  it('takes a JSON array and answers like enqueue --json, lines counted from 1', async () => {
    const { url } = await start();
    const body = [
      { to: phone(1), body: BODIES.text, request_id: 'api-1' },
      { to: 'nobody', body: BODIES.text },
      { to: phone(2), body: BODIES.image },
    ];
    const res = await fetch(`${url}/api/campaigns/web/messages`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      campaign: 'web',
      accepted: 2,
      rejected: 1,
      duplicates: 0,
      suppressed: 0,
      rejects: [{ line: 2, error: expect.stringMatching(/^to\[0\]: "nobody" is not an international phone number/) }],
      // Preflight ran: the image's host never resolves (.invalid), a warning, not a reject.
      warnings: [
        {
          line: 3,
          warning: expect.stringMatching(/^image https:\/\/media\.example\.invalid\/a\.png: not checked, unreachable/),
        },
      ],
    });
    expect(await stack.h.send.getJob('api-1')).toBeDefined();
    const unchecked = await fetch(`${url}/api/campaigns/web2/messages?preflight=false`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(await unchecked.json()).not.toHaveProperty('warnings');

    const campaign = await fetch(`${url}/api/campaigns/web`, { headers: auth() });
    expect(await campaign.json()).toMatchObject({ id: 'web', total: 2, sent: 0, dead: 0, pending: 2 });
    const message = await fetch(`${url}/api/messages/api-1`, { headers: auth() });
    expect(await message.json()).toMatchObject({
      request_id: 'api-1',
      campaign: 'web',
      status: 'pending',
      to: phone(1).slice(1),
    });
  });

  it('streams NDJSON and reports broken lines with their numbers', async () => {
    const { url } = await start();
    const ndjson = [
      JSON.stringify({ to: phone(1), body: BODIES.text }),
      '{"to": ',
      '',
      JSON.stringify({ to: phone(2), body: BODIES.sticker }),
    ].join('\n');
    const res = await fetch(`${url}/api/campaigns/nd/messages`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/x-ndjson' },
      body: ndjson,
    });
    expect(await res.json()).toMatchObject({
      accepted: 2,
      rejected: 1,
      rejects: [{ line: 2, error: expect.stringMatching(/^not valid JSON/) }],
    });
  });

  it('answers NDJSON streamed over the limit with what it took (the lines before the limit are enqueued) and the last line taken', async () => {
    const { url } = await start();
    const lines = [1, 2, 3].map((i) => JSON.stringify({ to: phone(i), body: BODIES.text, request_id: `big-${i}` }));
    // Three messages, then a fourth line that never ends before the limit.
    const chunks = [
      Buffer.from(`${lines.join('\n')}\n{"to": "`),
      ...Array.from({ length: 17 }, () => Buffer.alloc(MIB, 'x')),
    ];
    const { status, body } = await postChunked(`${url}/api/campaigns/big/messages?preflight=false`, chunks);
    expect(status).toBe(413);
    expect(body).toEqual({
      error:
        'request body is larger than 16 MiB; split it into several requests; lines 1 to 3 were taken, resend from line 4',
      campaign: 'big',
      accepted: 3,
      rejected: 0,
      duplicates: 0,
      suppressed: 0,
      rejects: [],
      last_line: 3,
    });
    for (const id of ['big-1', 'big-2', 'big-3']) expect(await stack.h.send.getJob(id)).toBeDefined();
    expect(await stack.h.ledger.campaign('big')).toMatchObject({ total: 3 });
    // Its audit entry says what was taken, and the limit unmasked.
    let entry: AuditEntry | undefined;
    await until(async () => {
      [entry] = await new AuditLog(stack.h.redis, stack.h.keys, 86_400_000).read({ target: 'big' });
      return entry !== undefined;
    });
    expect(entry).toMatchObject({
      action: 'messages.enqueue',
      outcome: 'refused 413',
      params: { accepted: 3, duplicates: 0, rejected: 0, last_line: 3, error: body.error },
    });

    // Held whole for preflight, or announced over the limit: nothing is taken.
    const held = await postChunked(`${url}/api/campaigns/held/messages`, chunks);
    expect(held.status).toBe(413);
    expect(held.body).toMatchObject({ accepted: 0, last_line: 0 });
    expect(held.body.error).toBe('request body is larger than 16 MiB; split it into several requests');
    expect(await stack.h.ledger.campaign('held')).toBeUndefined();
  });

  it('answers bad requests with a 4xx and the reason', async () => {
    const { url } = await start();
    const post = (path: string, body: string | Uint8Array, type = 'application/json') =>
      fetch(`${url}${path}`, { method: 'POST', headers: { ...auth(), 'Content-Type': type }, body });
    const cases: Array<[Response, number, RegExp]> = [
      [await post('/api/campaigns/x/messages', '[{"to": '), 400, /^body is not valid JSON/],
      [await post('/api/campaigns/x/messages', '{"to": "1"}'), 400, /^body must be a JSON array/],
      [await post('/api/campaigns/x/messages', 'to,body', 'text/csv'), 415, /^Content-Type must be/],
      [
        await post('/api/campaigns/x/messages', new Uint8Array(17 * 1024 * 1024).fill(32)),
        413,
        /larger than 16 MiB; split it/,
      ],
      [await post('/api/campaigns/a%20b/messages', '[]'), 400, /^campaign id: /],
      [await fetch(`${url}/api/messages/..%2F..%2Fetc`, { headers: auth() }), 400, /^request_id: /],
      [
        await fetch(`${url}/api/messages/unknown-id`, { headers: auth() }),
        404,
        /^no message with request_id "unknown-id"/,
      ],
      [await fetch(`${url}/api/campaigns/unknown`, { headers: auth() }), 404, /^no campaign "unknown"/],
    ];
    for (const [res, status, error] of cases) {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(error);
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

describe('/metrics', () => {
  it('serves the fleet counters in Prometheus text without secrets', async () => {
    const { config, url } = await start({ ENGAGELAB_DEV_SECRET: 'super-secret-value' });
    await stack.h.redis.hset(
      `${config.QUEUE_PREFIX}:metrics`,
      'sent',
      7,
      'dead:4001',
      2,
      'latency_count',
      3,
      'latency_le:0.1',
      3,
      'latency_sum_ms',
      150,
    );
    const text = await (await fetch(`${url}/metrics`, { headers: auth() })).text();
    expect(text).toContain('wa_bulk_messages_sent_total 7');
    expect(text).toContain('wa_bulk_messages_dead_total{code="4001"} 2');
    expect(text).toContain('wa_bulk_http_request_duration_seconds_bucket{le="0.1"} 3');
    expect(text).toContain('wa_bulk_http_request_duration_seconds_sum 0.15');
    expect(text).toContain('wa_bulk_queue_jobs{queue="send",state="waiting"} 0');
    expect(text).toContain('# TYPE wa_bulk_retries_total counter');
    expect(text).not.toContain('super-secret-value');
    expect(text).not.toContain(PASSWORD);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());

const MIB = 1024 * 1024;

/** POSTs the chunks with Transfer-Encoding: chunked (no Content-Length); the answer, JSON. */
function postChunked(
  url: string,
  chunks: Buffer[],
): Promise<{ status: number; body: Record<string, unknown> & { error: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
        res.on('error', reject);
      },
    );
    // The server answers before the whole body is written, and may close the connection then.
    req.on('error', () => {});
    Readable.from(chunks).pipe(req);
  });
}
