import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { AuditLog } from '../../src/access/audit.js';
import { maskBsuid } from '../../src/messages/identity.js';
import { maskPhone } from '../../src/messages/phone.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/**
 * Users named by a business-scoped user id (Meta's BSUID) in EngageLab's callbacks, alone or beside their
 * number: opt-outs, session windows and replies, through the real dashboard, callback worker and send worker.
 */

const BUSINESS = '8613800138000';
/** Ids of the longest shape and of an ordinary one. */
const LONG_ID = `GB.${'a1B2'.repeat(32)}`;
const ID = 'GB.13491208655302741918';

const stack = useStack();

async function setup() {
  const { config, h, dashboard } = await stack.start({
    simulator: {},
    config: { SESSION_CHECK: 'enforce' },
    dashboard: true,
    worker: true,
  });
  return { config, h, url: dashboard.url };
}

const send = (campaign: string, messages: unknown[]) =>
  enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign, ledger: stack.h.ledger, queue: stack.h.send });

/** An inbound row: the user's fields (from, user_id, …), its text, and the message_id it answers. */
function inboundRow(user: Record<string, string>, text = 'hello', answers?: string) {
  return {
    message_id: `in-${Math.random().toString(36).slice(2)}`,
    to: BUSINESS,
    itime: Math.floor(Date.now() / 1000),
    ...user,
    response: {
      event: answers ? 'reply' : 'received',
      response_data: {
        message: { type: 'text', text },
        ...(answers && { message_context: { origin_message_id: answers } }),
      },
    },
  };
}

async function post(url: string, rows: unknown[]): Promise<void> {
  const res = await fetch(`${url}/callbacks/engagelab`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ total: rows.length, rows }),
  });
  expect([res.status, await res.text()]).toEqual([200, expect.stringContaining('"ok":true')]);
}

const suppressed = async (user: string) => (await stack.h.redis.sismember(stack.h.keys.suppressed, user)) === 1;
const digits = (i: number) => phone(i).slice(1);

describe('users named by a business-scoped user id', () => {
  it('an opt-out by id alone is kept and listed, and suppresses the number once a callback links the two', async () => {
    const { config, url } = await setup();
    const env = envOf(config);
    await post(url, [inboundRow({ from: LONG_ID }, 'Stop')]);
    await until(() => suppressed(LONG_ID));
    const listed = (await runCli(['suppress', 'list', '--json'], env)).stdout.trim().split('\n');
    expect(listed.map((line) => JSON.parse(line) as unknown)).toEqual([{ number: LONG_ID, kind: 'bsuid' }]);
    const lookup = await fetch(`${url}/api/suppressions?number=${LONG_ID}`);
    expect(await lookup.json()).toEqual({ number: LONG_ID, suppressed: true, linked: null });
    // Nothing is known of the number yet: a message to it is enqueued.
    expect(await send('before', [{ to: phone(1), body: BODIES.otp, request_id: 'before-1' }])).toMatchObject({
      accepted: 1,
      suppressed: 0,
    });

    // A later message names both: the number is suppressed from then on.
    await post(url, [inboundRow({ from: phone(1), user_id: LONG_ID })]);
    await until(() => suppressed(digits(1)));
    expect(await send('after', [{ to: phone(1), body: BODIES.otp, request_id: 'after-1' }])).toMatchObject({
      accepted: 0,
      suppressed: 1,
    });
    expect(await (await fetch(`${url}/api/suppressions?number=${phone(1)}`)).json()).toEqual({
      number: digits(1),
      suppressed: true,
      linked: LONG_ID,
    });
  });

  it('a STOP from a row with both suppresses both; removing the number removes the id, and a later link does not bring it back', async () => {
    const { config, url, h } = await setup();
    const env = envOf(config);
    await post(url, [inboundRow({ from: phone(2), from_user_id: ID }, 'UNSUBSCRIBE')]);
    await until(async () => (await suppressed(ID)) && (await suppressed(digits(2))));
    // Recorded in the audit log as any edit of the opt-out list, by the callbacks, the user masked.
    const log = new AuditLog(h.redis, h.keys, 86_400_000);
    // Written just after the suppression.
    await until(async () => (await log.read({ actor: 'system:callbacks' })).length > 0);
    const audit = await log.read({ actor: 'system:callbacks' });
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'suppressions.add',
        params: { numbers: [maskPhone(digits(2)), maskBsuid(ID)], source: 'keyword', keyword: 'UNSUBSCRIBE' },
        outcome: 'ok',
      }),
    ]);
    expect(JSON.stringify(audit)).not.toContain(digits(2));
    expect((await runCli(['suppress', 'remove', phone(2)], env)).stdout).toBe('no longer suppressed: 2 number(s)\n');
    expect(await h.redis.scard(h.keys.suppressed)).toBe(0);
    await post(url, [inboundRow({ from: phone(2), user_id: ID })]);
    await until(async () => Number(await h.redis.hget(h.keys.metrics, 'users_linked')) === 2);
    expect(await suppressed(digits(2))).toBe(false);
    await send('again', [{ to: phone(2), body: BODIES.otp, request_id: 'again-1' }]);
    await campaignDone(h.ledger, 'again');
    expect(await h.ledger.get('again-1')).toMatchObject({ status: 'sent' });
  });

  it('the CLI and the API add and refuse ids: an id added suppresses the number it is linked to', async () => {
    const { config, url, h } = await setup();
    const env = envOf(config);
    await post(url, [inboundRow({ from: phone(3), user_id: ID })]);
    await until(async () => (await h.redis.get(h.keys.userLink(ID))) === digits(3));
    expect((await runCli(['suppress', 'add', ID], env)).stdout).toBe(
      'suppressed: 2 number(s) or user id(s), linked ones included\n',
    );
    expect(await suppressed(digits(3))).toBe(true);
    const refused = await runCli(['suppress', 'add', 'GB.1349-1208'], env);
    expect([refused.code, refused.stderr]).toEqual([
      2,
      expect.stringContaining('"GB.1349-1208" is not a business-scoped user id: a business-scoped user id is'),
    ]);
    const res = await fetch(`${url}/api/suppressions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ numbers: ['BR.1502576394655843', `BR.${'1'.repeat(129)}`] }),
    });
    expect([res.status, await res.json()]).toEqual([
      400,
      { error: expect.stringMatching(/^numbers: "BR\.1{37}…" is not a business-scoped user id/) },
    ]);
    expect(await suppressed('BR.1502576394655843')).toBe(false);
    const imported = await runCli(
      ['suppress', 'import', '-', '--json'],
      env,
      `${phone(7)}\nBR.1502576394655843\nBR.15025-76394\n`,
    );
    expect([imported.code, JSON.parse(imported.stdout)]).toEqual([
      1,
      {
        action: 'import',
        added: 2,
        invalid: [{ line: 3, error: expect.stringMatching(/^"BR\.15025-76394" is not a business-scoped user id/) }],
      },
    ]);
    expect(await suppressed('BR.1502576394655843')).toBe(true);
  });

  it('an id that writes opens the window of its number: at once when they are linked, else when a status row links them', async () => {
    const { url, h } = await setup();
    await send('s', [{ to: phone(4), body: BODIES.otp, request_id: 'tpl-4' }]);
    await campaignDone(h.ledger, 's');
    // The id writes, unlinked: its number's window stays shut.
    await post(url, [inboundRow({ from: ID })]);
    await until(async () => (await h.redis.exists(h.keys.session(ID))) === 1);
    await send('s', [{ to: phone(4), body: BODIES.text, request_id: 'text-4a' }]);
    await campaignDone(h.ledger, 's');
    expect(await h.ledger.get('text-4a')).toMatchObject({ status: 'skipped', error: { reason: 'no_session' } });

    // A status row of the template names the recipient's id: the id's open window is the number's now.
    const messageId = (await h.ledger.get('tpl-4'))?.message_id as string;
    await post(url, [
      {
        message_id: messageId,
        from: BUSINESS,
        to: digits(4),
        recipient_user_id: ID,
        itime: Math.floor(Date.now() / 1000),
        status: { message_status: 'read', error_code: 0 },
      },
    ]);
    await until(async () => (await h.redis.exists(h.keys.session(digits(4)))) === 1);
    expect(Number(await h.redis.get(h.keys.session(digits(4))))).toBe(Number(await h.redis.get(h.keys.session(ID))));
    await send('s', [{ to: phone(4), body: BODIES.text, request_id: 'text-4b' }]);
    await campaignDone(h.ledger, 's');
    expect(await h.ledger.get('text-4b')).toMatchObject({ status: 'sent' });

    // Linked now: the next message by id alone opens the number's window by itself.
    await h.redis.del(h.keys.session(digits(4)));
    await post(url, [inboundRow({ from_user_id: ID })]);
    await until(async () => (await h.redis.exists(h.keys.session(digits(4)))) === 1);
  });

  it('a reply by id alone is attributed to the message it answers: its number is linked, its window opens, its STOP suppresses the number', async () => {
    const { url, h } = await setup();
    await send('r', [
      { to: phone(5), body: BODIES.otp, request_id: 'tpl-5' },
      { to: phone(6), body: BODIES.otp, request_id: 'tpl-6' },
    ]);
    await campaignDone(h.ledger, 'r');
    const mid = async (id: string) => (await h.ledger.get(id))?.message_id as string;
    await post(url, [inboundRow({ from: ID }, 'stop', await mid('tpl-5'))]);
    await until(async () => Number(await h.redis.hget(h.keys.metrics, 'replies_attributed')) === 1);
    expect(await h.redis.get(h.keys.userLink(ID))).toBe(digits(5));
    expect(await h.redis.get(h.keys.userLink(digits(5)))).toBe(ID);
    expect(await suppressed(digits(5))).toBe(true);
    expect(await h.redis.exists(h.keys.session(digits(5)))).toBe(1);
    // Not the other recipient of the campaign.
    expect(await suppressed(digits(6))).toBe(false);
    expect(await h.redis.exists(h.keys.session(digits(6)))).toBe(0);
    // A reply to a message_id wa-bulk does not know is no one's: only the id's own window opens.
    await post(url, [inboundRow({ from: 'GB.777' }, 'hi', 'wamid.unknown')]);
    await until(async () => (await h.redis.exists(h.keys.session('GB.777'))) === 1);
    expect(await h.redis.get(h.keys.userLink('GB.777'))).toBeNull();
    expect(Number(await h.redis.hget(h.keys.metrics, 'replies_attributed'))).toBe(1);
    // /metrics shows what the callbacks did.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('wa_bulk_callback_effects_total{effect="reply_attributed"} 1');
    expect(metrics).toContain('wa_bulk_callback_effects_total{effect="user_linked"} 1');
    expect(metrics).toContain('wa_bulk_callback_effects_total{effect="opted_out"} 1');
  });
});
