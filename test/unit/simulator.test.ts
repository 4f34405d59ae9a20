import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Simulator, maxInSlidingWindow } from '../../src/simulator/simulator.js';
import { firstToken } from '../../src/cli/commands/simulator.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const auth = (key = 'k', secret = 's') => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
const text = { to: ['447911123456'], body: { type: 'text', text: { body: 'hi' } }, request_id: 'r1' };

async function post(body: unknown, authorization = auth()) {
  const res = await fetch(`${sim?.url}/v1/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: authorization },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the simulator answers as the seed documents say EngageLab does', () => {
  it('accepts a valid message with a message_id and echoes the request_id', async () => {
    sim = new Simulator({ key: 'k', secret: 's' });
    await sim.start();
    const res = await post(text);
    expect(res).toEqual({
      status: 200,
      body: { message_id: expect.stringMatching(/^[0-9a-f]{20}$/), request_id: 'r1' },
    });
    expect(sim.getStats()).toMatchObject({ requests: 1, accepted: 1, duplicates: 0 });
  });

  it('answers 2001 to a wrong key pair, 3001 to a body that is not JSON, 3002/3003 to broken rules', async () => {
    sim = new Simulator({ key: 'k', secret: 's' });
    await sim.start();
    expect(await post(text, auth('k', 'wrong'))).toMatchObject({ status: 401, body: { code: 2001 } });
    expect(await post('{"to": ')).toMatchObject({ status: 400, body: { code: 3001 } });
    expect(await post({ ...text, body: { type: 'text' } })).toMatchObject({ status: 400, body: { code: 3002 } });
    expect(await post({ ...text, body: { type: 'text', text: { body: 'x'.repeat(5000) } } })).toMatchObject({
      status: 400,
      body: { code: 3003, message: 'body.text.body: text is 5000 characters long; the limit is 4096' },
    });
  });

  it('answers 4001 to a template it does not know', async () => {
    sim = new Simulator({ key: 'k', secret: 's', templates: ['known'] });
    await sim.start();
    const template = (name: string) => ({ ...text, body: { type: 'template', template: { name, language: 'en' } } });
    expect((await post(template('known'))).status).toBe(200);
    expect(await post(template('unknown'))).toMatchObject({ status: 400, body: { code: 4001 } });
  });

  it('injects faults at the configured rates', async () => {
    sim = new Simulator({ key: 'k', secret: 's', faults: { error1000: 1 } });
    await sim.start();
    expect(await post(text)).toMatchObject({ status: 500, body: { code: 1000 } });
    sim.setFaults({ rateLimit: 1 });
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { Authorization: auth() },
      body: JSON.stringify(text),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    sim.setFaults({ html503: 1 });
    const html = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { Authorization: auth() },
      body: JSON.stringify(text),
    });
    expect(html.status).toBe(503);
    expect(await html.text()).toContain('<html>');
    expect(sim.getStats().accepted).toBe(0);
  });

  it("echoes each message's custom_args, wa-bulk's request_id key included, in its status callbacks", async () => {
    const rows: Array<Record<string, unknown>> = [];
    let posts = 0;
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        rows.push(...(JSON.parse(body) as { rows: Array<Record<string, unknown>> }).rows);
        posts++;
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as AddressInfo;
      sim = new Simulator({
        key: 'k',
        secret: 's',
        callbackUrl: `http://127.0.0.1:${port}/`,
        callbackDelayMs: 10,
        shuffleRate: 0,
      });
      await sim.start();
      const custom_args = { order: 7, wa_bulk_request_id: 'r1' };
      const { body } = await post({ ...text, custom_args });
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (sim?.pendingCallbacks === 0 && posts > 0 && posts === sim.callbackStats.posts)
            resolve(clearInterval(timer));
        }, 10);
      });
      expect(rows.length).toBeGreaterThanOrEqual(2);
      for (const row of rows) expect(row).toMatchObject({ message_id: body.message_id, custom_args });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('counts a request_id accepted twice as a duplicate', async () => {
    sim = new Simulator({ key: 'k', secret: 's' });
    await sim.start();
    await post(text);
    await post(text);
    expect(sim.getStats().duplicates).toBe(1);
  });

  it('counts in GET /_simulator/stats the callback posts the receiver refused', async () => {
    // A dashboard with another CALLBACK_TOKEN: 404 to every post.
    let received = 0;
    const receiver = http.createServer((req, res) => {
      received++;
      req.resume();
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = receiver.address() as AddressInfo;
      sim = new Simulator({
        key: 'k',
        secret: 's',
        callbackUrl: `http://127.0.0.1:${port}/callbacks/engagelab/other-token`,
        callbackDelayMs: 10,
      });
      await sim.start();
      await post(text);
      const stats = async () =>
        (await (await fetch(`${sim?.url}/_simulator/stats`)).json()) as { callbacks?: Record<string, number> };
      const deadline = Date.now() + 10_000;
      while ((await stats()).callbacks?.pending !== 0 && Date.now() < deadline) await sleep(20);
      while ((await stats()).callbacks?.failedPosts !== received && Date.now() < deadline) await sleep(20);
      expect(received).toBeGreaterThan(0);
      expect((await stats()).callbacks).toEqual({
        rows: expect.any(Number),
        posts: received,
        failedPosts: received,
        pending: 0,
      });
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('maxInSlidingWindow', () => {
  it('finds the busiest window', () => {
    expect(maxInSlidingWindow([0, 10, 999, 1000, 1500, 1999], 1000)).toBe(3);
    expect(maxInSlidingWindow([], 1000)).toBe(0);
  });
});

describe("the simulator's callback URL", () => {
  it('posts to the first of two tokens, as compose writes CALLBACK_TOKEN=new,old into the URL', () => {
    expect(firstToken('http://dashboard:3000/callbacks/engagelab/new-token-0123456,old-token-0123456')).toBe(
      'http://dashboard:3000/callbacks/engagelab/new-token-0123456',
    );
    expect(firstToken('http://dashboard:3000/callbacks/engagelab/only-token-0123456')).toBe(
      'http://dashboard:3000/callbacks/engagelab/only-token-0123456',
    );
    expect(firstToken('http://dashboard:3000/callbacks/engagelab/')).toBe('http://dashboard:3000/callbacks/engagelab/');
  });
});
