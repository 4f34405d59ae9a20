import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { startDashboard } from '../../src/http/dashboard.js';
import { createLogger } from '../../src/log.js';
import { useStack } from '../helpers/stack.js';

/** CALLBACK_ALLOW_FROM against a real dashboard: the source is the peer, or what the trusted proxies name. */

const TOKEN = 'src_token_0123456789abcdef';
const BATCH = JSON.stringify({ rows: [{ message_id: 'unknown-1', status: { message_status: 'delivered' } }] });

const stack = useStack();

async function start(settings: Record<string, string>) {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const { config } = await stack.start({ config: { DASHBOARD_PORT: 0, CALLBACK_TOKEN: TOKEN, ...settings } });
  const dashboard = await stack.startDashboard(
    config,
    startDashboard,
    createLogger({ destination: out, pretty: false }),
  );
  const url = dashboard.url;
  const post = async (forwardedFor?: string) =>
    (
      await fetch(`${url}/callbacks/engagelab/${TOKEN}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(forwardedFor && { 'X-Forwarded-For': forwardedFor }) },
        body: BATCH,
      })
    ).status;
  const refusals = () => lines.filter((line) => line.includes('callback refused'));
  const refusedMetric = async () =>
    /wa_bulk_callbacks_refused_total\{reason="source"\} (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
  return { post, refusals, refusedMetric };
}

describe('CALLBACK_ALLOW_FROM', () => {
  it('takes callbacks from a listed network and refuses others with 403, counted, logged once a window', async () => {
    const allowed = await start({ CALLBACK_ALLOW_FROM: '127.0.0.0/8' });
    expect(await allowed.post()).toBe(200);
    await stack.stop();

    const { post, refusals, refusedMetric } = await start({ CALLBACK_ALLOW_FROM: '203.0.113.0/24,2001:db8::/32' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await post());
    expect(statuses).toEqual([403, 403, 403, 403, 403]);
    // Without trusted proxies, X-Forwarded-For names nothing: the peer (loopback) is the source.
    expect(await post('203.0.113.9')).toBe(403);
    expect(await stack.h.redis.llen(`${stack.h.keys.prefix}:callbacks:wait`)).toBe(0);
    const logged = refusals();
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0] as string)).toMatchObject({ source: '127.0.0.1' });
    expect(await refusedMetric()).toBe('6');
  });

  it('behind one trusted proxy hop, takes the address it forwarded for, and not one a client wrote before it', async () => {
    const { post } = await start({ CALLBACK_ALLOW_FROM: '203.0.113.0/24', CALLBACK_TRUSTED_PROXIES: '1' });
    expect(await post('203.0.113.9')).toBe(200);
    expect(await post('198.51.100.7')).toBe(403);
    // A client that writes an allowed address itself: the proxy appends the real one, which is the source.
    expect(await post('203.0.113.9, 198.51.100.7')).toBe(403);
    expect(await post('not-an-address')).toBe(403);
    expect(await post()).toBe(403);
  });

  it("with the proxies' networks, skips their hops and takes the first address that is not one", async () => {
    const { post } = await start({
      CALLBACK_ALLOW_FROM: '203.0.113.0/24',
      CALLBACK_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8',
    });
    expect(await post('203.0.113.9, 10.1.2.3')).toBe(200);
    expect(await post('203.0.113.9, 198.51.100.7, 10.1.2.3')).toBe(403);
  });
});
