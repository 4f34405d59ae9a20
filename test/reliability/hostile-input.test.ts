import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { validateJson, validateMessage } from '../../src/messages/validate.js';
import { BODIES, phone } from '../fixtures/messages.js';
import { addPending, testConfig } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const valid = () =>
  fc
    .constantFrom(...Object.values(BODIES))
    .map((body) => ({ to: phone(1), body: structuredClone(body) as Record<string, unknown> }));

/** Mutations that break a rule the API documents; each must be rejected. */
const breakers: Array<[string, (m: { to: unknown; body: Record<string, unknown> }) => void]> = [
  ['no to', (m) => delete (m as { to?: unknown }).to],
  ['to not a number', (m) => (m.to = 'call me maybe')],
  ['unknown type', (m) => (m.body.type = 'carousel')],
  ['missing type object', (m) => delete m.body[m.body.type as string]],
  ['text too long', (m) => Object.assign(m, { body: { type: 'text', text: { body: 'x'.repeat(4097) } } })],
  [
    'caption too long',
    (m) =>
      Object.assign(m, { body: { type: 'image', image: { link: 'https://e.com/a.png', caption: 'c'.repeat(1025) } } }),
  ],
  ['media without id or link', (m) => Object.assign(m, { body: { type: 'sticker', sticker: {} } })],
  ['ftp link', (m) => Object.assign(m, { body: { type: 'audio', audio: { link: 'ftp://e.com/a.mp3' } } })],
  [
    'template name with capitals',
    (m) => Object.assign(m, { body: { type: 'template', template: { name: 'Order', language: 'en' } } }),
  ],
  [
    'unknown language',
    (m) => Object.assign(m, { body: { type: 'template', template: { name: 'order', language: 'xx_XX' } } }),
  ],
];

describe('hostile input', () => {
  it('the schema only ever answers valid or a validation error, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = validateMessage(value);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => expect(typeof validateJson(text).ok).toBe('boolean')),
      { numRuns: 2000 },
    );
  });

  it('mutated valid messages that break a documented rule are never accepted', () => {
    fc.assert(
      fc.property(valid(), fc.constantFrom(...breakers), (message, [, breaker]) => {
        expect(validateMessage(message).ok).toBe(true);
        breaker(message);
        expect(validateMessage(message).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a 10,000-line file of random bytes and broken JSON: no crash, accepted + rejected + duplicates = lines', async () => {
    const { h } = await stack.start();
    const lines: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = i % 4;
      if (r === 0)
        lines.push(
          randomBytes(1 + (i % 200))
            .toString('latin1')
            .replace(/[\r\n]/g, ' ') || 'x',
        );
      else if (r === 1) lines.push(JSON.stringify({ to: phone(i), body: BODIES.text }).slice(0, 10 + (i % 40)));
      else if (r === 2) lines.push(JSON.stringify({ to: phone(i), body: BODIES.text }));
      else lines.push(JSON.stringify({ to: [phone(i), 'junk'], body: { type: 'text', text: { body: '' } } }));
    }
    const summary = await enqueue(readJsonl(Readable.from([lines.join('\n')])), {
      campaign: 'noise',
      ledger: h.ledger,
      queue: h.send,
    });
    // Blank lines (random bytes that are all whitespace) are not messages and are skipped.
    const messages = lines.filter((l) => l.trim() !== '').length;
    expect(messages).toBeGreaterThan(9900);
    expect(summary.accepted + summary.rejected + summary.duplicates).toBe(messages);
    expect(summary.accepted).toBe(2500);
    expect(await h.send.getWaitingCount()).toBe(2500);
  });

  it('the HTTP API answers tricks with a 4xx, stays up, and never touches keys outside the campaign', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: 'hostile-input-password' });
    stack.harness(config);
    const other = stack.harness(testConfig());
    await addPending(other, 'victim', ['victim-1']);
    await Promise.all([other.send.waitUntilReady(), other.dead.waitUntilReady()]);
    const before = (await other.redis.keys(`${other.keys.prefix}:*`)).sort();
    const dashboard = await stack.startDashboard(config);
    const auth = { Authorization: `Basic ${Buffer.from('admin:hostile-input-password').toString('base64')}` };
    const post = (path: string, body: string | Uint8Array, type: string) =>
      fetch(`${dashboard.url}${path}`, { method: 'POST', headers: { ...auth, 'Content-Type': type }, body });
    const statuses = [
      (await post('/api/campaigns/x/messages', new Uint8Array(20 * 1024 * 1024), 'application/x-ndjson')).status,
      (await post('/api/campaigns/x/messages', '{"to":\n{{{\n\u0000', 'application/x-ndjson')).status,
      (await post('/api/campaigns/x/messages', '<xml/>', 'application/xml')).status,
      (await post(`/api/campaigns/${encodeURIComponent('../victim')}/messages`, '[]', 'application/json')).status,
      (await post(`/api/campaigns/${encodeURIComponent('victim:ids')}/messages`, '[]', 'application/json')).status,
      (await fetch(`${dashboard.url}/api/messages/${encodeURIComponent('*')}`, { headers: auth })).status,
      (await fetch(`${dashboard.url}/api/campaigns/${'a'.repeat(500)}`, { headers: auth })).status,
    ];
    expect(statuses).toEqual([413, 200, 415, 400, 400, 400, 400]);
    expect((await fetch(`${dashboard.url}/healthz`)).status).toBe(200);
    expect((await other.redis.keys(`${other.keys.prefix}:*`)).sort()).toEqual(before);
  });
});
