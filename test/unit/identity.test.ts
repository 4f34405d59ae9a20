import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { callbackRowSchema } from '../../src/engagelab/callbacks.js';
import { createLogger } from '../../src/log.js';
import { isBsuid, maskBsuid, parseUser, userProblem } from '../../src/messages/identity.js';
import { formatIssues, validateMessage } from '../../src/messages/validate.js';
import { userOf } from '../../src/recipients/inbound.js';

/** Meta's example of a business-scoped user id, and a parent one (shared by several business portfolios). */
const ID = 'US.13491208655302741918';
const PARENT = 'US.ENT.11815799212886844830';

describe('user identities', () => {
  it('are a number in digits, or a business-scoped user id exactly as it came', () => {
    expect(parseUser('+44 7911 123456')).toEqual({ kind: 'phone', id: '447911123456' });
    expect(parseUser('00447911123456')).toEqual({ kind: 'phone', id: '447911123456' });
    expect(parseUser(ID)).toEqual({ kind: 'bsuid', id: ID });
    expect(parseUser(PARENT)).toEqual({ kind: 'bsuid', id: PARENT });
    expect(parseUser('BR.abcDEF123')).toEqual({ kind: 'bsuid', id: 'BR.abcDEF123' });
  });

  it('take an id of up to 128 characters after the country code, and nothing of another shape', () => {
    expect(isBsuid(`US.${'7'.repeat(128)}`)).toBe(true);
    expect(isBsuid(`US.ENT.${'7'.repeat(128)}`)).toBe(true);
    for (const bad of [
      `US.${'7'.repeat(129)}`,
      'US.',
      'us.1349120865',
      'USA.1349120865',
      'US.1349-1208',
      'US.1349 1208',
      'US1349120865',
      ' US.1349120865',
    ])
      expect([bad, parseUser(bad)]).toEqual([bad, undefined]);
  });

  it('say what is wrong with a value that is neither', () => {
    expect(userProblem('US.12-34')).toBe(
      '"US.12-34" is not a business-scoped user id: a business-scoped user id is a two-letter country code, ".", then 1 to 128 letters and digits (e.g. US.13491208655302741918)',
    );
    expect(userProblem('call me')).toBe(
      '"call me" is neither an international phone number (country code and number) nor a business-scoped user id',
    );
    expect(userProblem(`US.${'1'.repeat(200)}`)).toMatch(/^"US\.1{37}…" is not a business-scoped user id/);
  });

  it('are masked in logs: ids as numbers are, keeping the country code and the last two characters', async () => {
    expect(maskBsuid(ID)).toBe('US.********18');
    expect(maskBsuid(PARENT)).toBe('US.ENT.********30');
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    createLogger({ destination: out, pretty: false }).info(
      { user: ID, nested: { ids: [PARENT] }, err: new Error(`no session for ${ID}`) },
      `opt-out from ${ID} (${PARENT})`,
    );
    await new Promise((resolve) => setImmediate(resolve));
    const line = chunks.join('');
    expect(line).not.toContain('13491208655302741918');
    expect(line).not.toContain('11815799212886844830');
    // The field, the error's message and its stack, the line's message.
    expect(line.split('US.********18').length - 1).toBe(4);
    expect(line.split('US.ENT.********30').length - 1).toBe(2);
  });

  it('leave words and names that only start like an id alone in logs', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const text = 'see README.md, US.ENT and OK.done';
    createLogger({ destination: out, pretty: false }).info(text);
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks.join('')).toContain(text);
  });

  it('are not recipients: a message to an id is refused, saying messages go to numbers', () => {
    const result = validateMessage({ to: ID, body: { type: 'text', text: { body: 'x' } } });
    expect(result).toEqual({
      ok: false,
      error: `to[0]: "${ID}" is a business-scoped user id: messages are sent to international phone numbers only`,
    });
  });
});

describe('callback rows naming users', () => {
  const inbound = (fields: Record<string, unknown>) => ({
    message_id: 'in-1',
    to: '8613800138000',
    response: { event: 'received', response_data: { message: { text: 'hi' } } },
    ...fields,
  });
  const issues = (row: unknown) => {
    const parsed = callbackRowSchema.safeParse(row);
    return parsed.success ? 'valid' : formatIssues(parsed.error.issues);
  };

  it('take an id in from, in user_id or from_user_id, and on a status row in recipient_user_id', () => {
    for (const row of [
      inbound({ from: ID }),
      inbound({ from: `US.${'a'.repeat(128)}` }),
      inbound({ from: '447911123456', user_id: ID }),
      inbound({ from_user_id: PARENT }),
      { message_id: 'm', to: '447911123456', recipient_user_id: ID, status: { message_status: 'read' } },
    ])
      expect(issues(row)).toBe('valid');
  });

  it('refuse a row whose id is too long or malformed, naming the field and the rule', () => {
    const long = `US.${'1'.repeat(129)}`;
    expect(issues(inbound({ from: long }))).toBe(
      'from: expected a phone number (up to 32 characters) or a business-scoped user id: a business-scoped user id is a two-letter country code, ".", then 1 to 128 letters and digits (e.g. US.13491208655302741918)',
    );
    expect(issues(inbound({ from: 'US.1349-1208' }))).toMatch(/^from: expected a phone number/);
    expect(issues(inbound({ from: 'x'.repeat(33) }))).toMatch(/^from: expected a phone number/);
    expect(issues(inbound({ from: '447911123456', user_id: 'US.' }))).toMatch(
      /^user_id: a business-scoped user id is a two-letter country code/,
    );
    expect(issues(inbound({ from_user_id: 12345 }))).toMatch(/^from_user_id: /);
  });

  it('still take a number of up to 32 characters in from and to, as before', () => {
    expect(issues(inbound({ from: '+44 7911 123456' }))).toBe('valid');
    expect(issues(inbound({ from: 447911123456 }))).toBe('valid');
  });

  it('name their user: number and id, from the fields of the row kind, a regular id before a parent one', () => {
    const row = (fields: Record<string, unknown>) => callbackRowSchema.parse(inbound(fields));
    expect(userOf(row({ from: '+447911123456', user_id: ID }))).toEqual({ phone: '447911123456', id: ID });
    expect(userOf(row({ from: ID }))).toEqual({ id: ID });
    expect(userOf(row({ from: PARENT, from_user_id: ID }))).toEqual({ id: ID });
    const status = callbackRowSchema.parse({
      message_id: 'm',
      from: '8613800138000',
      to: '447911123456',
      recipient_user_id: ID,
      status: { message_status: 'delivered' },
    });
    expect(userOf(status)).toEqual({ phone: '447911123456', id: ID });
  });
});
