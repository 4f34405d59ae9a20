import { afterAll, describe, expect, it } from '@jest/globals';
import { WebhookEndpoints } from '../../src/events/endpoints.js';
import { contract, startDashboard } from '../helpers/contract.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, verify, type Received } from '../helpers/webhook-receiver.js';
import { webhookTest } from '../../src/events/operational.js';
import { newSecret } from '../../src/events/signing.js';
import { until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const PASSWORD = 'password-for-webhook-admin';
const basic = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

const stack = useStack();

/** A webhook receiver, closed after the test. */
async function receiving() {
  const receiver = await startReceiver();
  stack.defer(() => receiver.close());
  return receiver;
}

describe('managing webhook endpoints', () => {
  it('wa-bulk webhooks adds, lists, tests, rotates and removes an endpoint', async () => {
    const receiver = await receiving();
    const { h, env } = await stack.start({ config: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    const added = await runCli(['webhooks', 'add', receiver.url, '--events', 'message.*,campaign.done'], env);
    expect(added.code).toBe(0);
    const secret = added.stdout.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const [listed] = (await runCli(['webhooks', 'list', '--json'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; events: string[]; secret?: string });
    expect(listed).toMatchObject({ events: ['message.*', 'campaign.done'] });
    expect(listed).not.toHaveProperty('secret');
    const id = listed!.id;

    expect((await runCli(['webhooks', 'test', id], env)).stdout).toBe('delivered: HTTP 200\n');
    const tested = verify(secret, receiver.received[0] as Received);
    expect(tested).toMatchObject({ type: 'webhook.test', data: { endpoint: id } });
    expect(webhookTest.safeParse(tested).success).toBe(true);

    const rotated = JSON.parse((await runCli(['webhooks', 'rotate-secret', id, '--json'], env)).stdout) as {
      secret: string;
    };
    await runCli(['webhooks', 'test', id], env);
    expect(verify(rotated.secret, receiver.received[1] as Received)).toMatchObject({ type: 'webhook.test' });
    expect(verify(secret, receiver.received[1] as Received)).toMatchObject({ type: 'webhook.test' });

    expect((await runCli(['webhooks', 'remove', id], env)).code).toBe(0);
    expect(await runCli(['webhooks', 'remove', id], env)).toMatchObject({ code: 1 });
    // Without endpoints the feed is no longer written.
    expect(await h.redis.exists(h.keys.archive)).toBe(0);
  });

  it('wa-bulk webhooks refuses a filter that names no event, and a private address by default', async () => {
    const { env } = await stack.start();
    const bad = await runCli(['webhooks', 'add', 'https://example.com/hooks', '--events', 'message.opened'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--events: "message.opened" is not an event type');
    const inside = await runCli(['webhooks', 'add', 'http://10.0.0.8/hooks'], env);
    expect(inside.stderr).toContain('URL: 10.0.0.8 is a private or reserved address');
  });

  it('refuses a host name that resolves to a private address when the endpoint is added, unless allowed', async () => {
    const { config, env } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    const dashboard = await stack.startDashboard(config, startDashboard);
    const created = await fetch(`${dashboard.url}/api/webhooks`, {
      method: 'POST',
      headers: { ...basic, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://localhost:17001/h' }),
    });
    expect(created.status).toBe(400);
    expect(((await created.json()) as { error: string }).error).toMatch(
      /^url: http:\/\/localhost:17001\/h: localhost resolves to [^,]*127\.0\.0\.1.*a private or reserved address/,
    );
    expect((await (await fetch(`${dashboard.url}/api/webhooks`, { headers: basic })).json()) as object).toEqual({
      endpoints: [],
    });
    const cli = await runCli(['webhooks', 'add', 'http://localhost:17001/h'], env);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('localhost resolves to');
    const allowed = await runCli(['webhooks', 'add', 'http://localhost:17001/h'], {
      ...env,
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    expect(allowed.code).toBe(0);
  });

  it('/api/webhooks does the same for an admin, and answers 400 and 404 with what is wrong', async () => {
    const receiver = await receiving();
    const { config } = await stack.start({
      config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, WEBHOOK_ALLOW_PRIVATE: 'true' },
    });
    const dashboard = await stack.startDashboard(config, startDashboard);
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${dashboard.url}${path}`, {
        ...init,
        headers: { ...basic, 'content-type': 'application/json', ...(init.headers as object) },
      });
    const created = await api('/api/webhooks', {
      method: 'POST',
      body: JSON.stringify({ url: receiver.url, events: ['contact.opted_out'], batch: 10 }),
    });
    expect(created.status).toBe(201);
    const endpoint = (await created.json()) as { id: string; secret: string; batch: number };
    expect(endpoint).toMatchObject({ batch: 10, secret: expect.stringMatching(/^whsec_/) });
    const list = (await (await api('/api/webhooks')).json()) as { endpoints: Array<Record<string, unknown>> };
    expect(list.endpoints.map((e) => e.id)).toEqual([endpoint.id]);
    expect(list.endpoints[0]).not.toHaveProperty('secret');
    const tested = await api(`/api/webhooks/${endpoint.id}/test`, { method: 'POST' });
    expect(await tested.json()).toEqual({ result: 'delivered', status: 200 });
    expect(verify(endpoint.secret, receiver.received[0] as Received)).toMatchObject({ type: 'webhook.test' });

    const bad = await api('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url, batch: 0 }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'batch: expected an integer from 1 to 1000' });
    expect((await api('/api/webhooks/ep_none/deliveries')).status).toBe(404);
    const scrape = await (await api('/metrics')).text();
    expect(scrape).toContain('wa_bulk_webhook_endpoints{state="enabled"} 1');
    expect(scrape).toContain(`wa_bulk_webhook_deliveries_total{endpoint="${endpoint.id}",result="delivered"} 0`);
    expect((await api(`/api/webhooks/${endpoint.id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('/api/webhooks refuses malformed JSON, or a field, on a route that takes no body, and does nothing', async () => {
    const { config } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    const dashboard = await stack.startDashboard(config, startDashboard);
    const api = async (method: string, path: string, body?: string) => {
      const res = await fetch(`${dashboard.url}${path}`, {
        method,
        headers: { ...basic, 'content-type': 'application/json' },
        ...(body !== undefined && { body }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const created = await api('POST', '/api/webhooks', JSON.stringify({ url: 'https://example.com/hooks' }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const before = await api('GET', `/api/webhooks/${id}`);
    for (const [method, suffix] of [
      ['POST', '/rotate-secret'],
      ['POST', '/enable'],
      ['POST', '/test'],
      ['DELETE', ''],
    ] as const) {
      const where = `${method} /api/webhooks/:id${suffix}`;
      const malformed = await api(method, `/api/webhooks/${id}${suffix}`, '{bad');
      expect([where, malformed.status, malformed.body.error]).toEqual([where, 400, expect.stringMatching(/JSON/)]);
      const field = await api(method, `/api/webhooks/${id}${suffix}`, '{"force":true}');
      expect([where, field.status, field.body]).toEqual([where, 400, { error: 'body: unknown field "force"' }]);
    }
    // Nothing was done: no secret rotated, no test sent, the endpoint still there.
    expect(await api('GET', `/api/webhooks/${id}`)).toEqual(before);
    expect(await new WebhookEndpoints(stack.h.redis, stack.h.keys).secrets(id)).toEqual([created.body.secret]);
    // An empty body, or `{}`, is no body.
    expect((await api('POST', `/api/webhooks/${id}/enable`)).status).toBe(200);
    expect((await api('POST', `/api/webhooks/${id}/enable`, '{}')).status).toBe(200);
    expect((await api('DELETE', `/api/webhooks/${id}`, '{}')).status).toBe(200);
  });

  it("refuses to remove env, WEBHOOK_URL's endpoint, or rotate its secret, naming the variable; enables it", async () => {
    const receiver = await receiving();
    const { h, config, env } = await stack.start({
      config: {
        DASHBOARD_PORT: 0,
        DASHBOARD_PASSWORD: PASSWORD,
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: newSecret(),
        WEBHOOK_ALLOW_PRIVATE: 'true',
      },
    });
    const dashboard = await stack.startDashboard(config, startDashboard);
    await until(async () => (await h.redis.sismember(h.keys.webhooks, 'env')) === 1);
    const api = (path: string, method: string) =>
      fetch(`${dashboard.url}${path}`, { method, headers: { ...basic, 'content-type': 'application/json' } });
    const removed = await api('/api/webhooks/env', 'DELETE');
    expect(removed.status).toBe(409);
    expect(((await removed.json()) as { error: string }).error).toContain('declared by WEBHOOK_URL');
    const rotated = await api('/api/webhooks/env/rotate-secret', 'POST');
    expect(rotated.status).toBe(409);
    expect(((await rotated.json()) as { error: string }).error).toContain('WEBHOOK_SECRET');
    const cli = await runCli(['webhooks', 'remove', 'env'], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('unset WEBHOOK_URL');
    // Still there, deliveries and all; enabling it is not the configuration's to say.
    expect((await api('/api/webhooks/env', 'GET')).status).toBe(200);
    expect((await api('/api/webhooks/env/enable', 'POST')).status).toBe(200);
    expect((await api('/api/webhooks/env/test', 'POST')).status).toBe(200);
    expect(receiver.received).toHaveLength(1);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
