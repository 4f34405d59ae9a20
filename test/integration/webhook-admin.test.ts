import { afterAll, describe, expect, it } from '@jest/globals';
import { contract, startDashboard } from '../helpers/contract.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, verify, type Received } from '../helpers/webhook-receiver.js';
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
    expect(verify(secret, receiver.received[0] as Received)).toMatchObject({
      type: 'webhook.test',
      data: { endpoint: id },
    });

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
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
