import { describe, expect, it } from '@jest/globals';
import {
  FOLLOWUP_FIELDS,
  FOLLOWUP_FLAGS,
  followupControl,
  followupInput,
  followupMessage,
  followupRequestId,
  PLACEHOLDER_SAMPLE,
  unknownPlaceholders,
} from '../../producers/followups.js';
import type { MessageRecord } from '../../src/ledger/records.js';
import { whereFilter } from '../../src/ledger/outcomes.js';
import { validateMessage } from '../../src/messages/validate.js';

const RULE = { from: 'spring', where: 'not_read', after: '24h', campaign: 'spring-2', text: 'Hi {{name}}' };

describe('follow-up rules', () => {
  it("reads --where as export's filter words, each sorted to its kind", () => {
    expect(whereFilter('not_read', '--where')).toEqual({ delivery: new Set(['not_read']) });
    expect(whereFilter('sent,not_read,failed', '--where')).toEqual({
      status: new Set(['sent']),
      delivery: new Set(['not_read', 'failed']),
    });
    expect(whereFilter('dead, permanent, 131049', '--where')).toEqual({
      status: new Set(['dead']),
      reason: new Set(['permanent']),
      code: new Set([131049]),
    });
    expect(() => whereFilter('unread', 'where')).toThrow('where: expected outcome words');
    expect(() => whereFilter(' , ', '--where')).toThrow('--where: expected a value');
  });

  it('names the flag or the field of a bad value, as the command line or the API spells it', () => {
    expect(() => followupInput({ ...RULE, after: '1 day' }, FOLLOWUP_FLAGS)).toThrow('--after: expected a duration');
    expect(() => followupInput({ ...RULE, after: '1 day' }, FOLLOWUP_FIELDS)).toThrow(/^after: expected a duration/);
    expect(() => followupInput({ ...RULE, from: 'a b' }, FOLLOWUP_FIELDS)).toThrow('from: expected 1-64 letters');
    expect(() => followupInput({ ...RULE, campaign: 7 }, FOLLOWUP_FIELDS)).toThrow('campaign: expected text');
    expect(() =>
      followupInput({ ...RULE, text: undefined, template: 'BAD NAME', language: 'en' }, FOLLOWUP_FLAGS),
    ).toThrow('--template:');
    expect(() =>
      followupInput(
        { ...RULE, text: undefined, template: 'promo', language: 'en', params: '{"arg_x":"1"}' },
        FOLLOWUP_FLAGS,
      ),
    ).toThrow('--params: "arg_x" is the follow-up\'s own');
    expect(() => followupInput({ ...RULE, text: 'x'.repeat(5000) }, FOLLOWUP_FLAGS)).toThrow(
      '--text: the follow-up message would be refused',
    );
  });

  it('takes --at as an absolute time with an offset, or a time from now', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const at = (value: string) => followupInput({ ...RULE, after: undefined, at: value }, FOLLOWUP_FLAGS, now).when;
    expect(at('2026-12-08T09:00:00+01:00')).toEqual({ at: Date.parse('2026-12-08T08:00:00Z') });
    expect(at('+30m')).toEqual({ at: now + 30 * 60_000 });
    expect(followupInput(RULE, FOLLOWUP_FLAGS).when).toEqual({ after: '24h', afterMs: 86_400_000 });
  });

  it("keeps enqueue's campaign options with the rule, and applies an expires_in from the evaluation", () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const rule = (extra: object, names = FOLLOWUP_FIELDS) => followupInput({ ...RULE, ...extra }, names, now).control;
    expect(rule({})).toEqual({ send_window: null, expires_in: null, expires_at: null, priority: 'normal' });
    expect(rule({ send_window: '20:00-02:00', expires_in: '6h', priority: 'high' })).toEqual({
      send_window: '20:00-02:00',
      expires_in: '6h',
      expires_at: null,
      priority: 'high',
    });
    expect(rule({ expires_at: '+3d' }).expires_at).toBe('2026-12-10T12:00:00.000Z');
    expect(() => rule({ priority: 'urgent' })).toThrow('priority: expected high, normal or low, got "urgent"');
    expect(() => rule({ priority: 'urgent' }, FOLLOWUP_FLAGS)).toThrow('--priority: expected high');
    expect(() => rule({ expires_in: '1h', expires_at: '+2h' }, FOLLOWUP_FLAGS)).toThrow(
      '--expires-in: give --expires-in or --expires-at, not both',
    );
    expect(() => rule({ send_window: 7 })).toThrow('send_window: expected text');

    const evaluatedAt = now + 86_400_000;
    const control = followupControl(
      rule({ send_window: '09:00-21:00', expires_in: '6h', priority: 'low' }),
      evaluatedAt,
    );
    expect(control).toEqual({
      priority: 'low',
      window: { from: 9 * 60, to: 21 * 60 },
      expiresAt: evaluatedAt + 6 * 3_600_000,
    });
    expect(followupControl(rule({ expires_at: '+3d' }), evaluatedAt).expiresAt).toBe(now + 3 * 86_400_000);
  });

  it("builds each follow-up from the source message: its recipient, its custom_args, and a request_id of the rule's", () => {
    const source = { request_id: 'spring-7', to: '447911100007', custom_args: { name: 'Ada', order: 7 } };
    const text = followupMessage('fu_abcdefghij', { text: 'Hi {{name}}, order {{order}}{{missing}}' }, source);
    expect(text).toEqual({
      to: '447911100007',
      body: { type: 'text', text: { body: 'Hi Ada, order 7' } },
      request_id: followupRequestId('fu_abcdefghij', '447911100007'),
      custom_args: { name: 'Ada', order: 7 },
    });
    const template = followupMessage(
      'fu_abcdefghij',
      { template: 'reminder', language: 'en', params: { body_1: '{{name}}' } },
      source,
    );
    expect(template.body).toEqual({
      type: 'template',
      template: {
        name: 'reminder',
        language: 'en',
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ada' }] }],
      },
    });
    expect(validateMessage(template).ok).toBe(true);
  });

  it('gives one request_id per rule and recipient, whatever the source message', () => {
    const id = followupRequestId('fu_abcdefghij', '447911100007');
    expect(id).toMatch(/^fu-abcdefghij-[A-Za-z0-9_-]{22}$/);
    expect(followupRequestId('fu_abcdefghij', '447911100007')).toBe(id);
    expect(followupRequestId('fu_abcdefghij', '447911100008')).not.toBe(id);
    expect(followupRequestId('fu_bbcdefghij', '447911100007')).not.toBe(id);
  });

  it("names a {{name}} no custom_args of the source's first messages has, reading no more than that", async () => {
    let read = 0;
    async function* sources(args: Array<Record<string, unknown> | undefined>) {
      for (const custom_args of args) {
        read++;
        yield { custom_args } as MessageRecord;
      }
    }
    const message = { template: 't', language: 'en', params: { body_1: '{{name}}', body_2: '{{ city }}' } };
    expect(await unknownPlaceholders(message, sources([undefined, { name: 'Ann' }, { city: 'Leeds' }]))).toEqual([]);
    expect(await unknownPlaceholders(message, sources([{ name: 'Ann' }]))).toEqual(['city']);
    // A name first seen after the sample is not looked for: the source is read no further.
    read = 0;
    const late = [...Array<undefined>(PLACEHOLDER_SAMPLE).fill(undefined), { name: 'Ann', city: 'Leeds' }];
    expect(await unknownPlaceholders(message, sources(late))).toEqual(['name', 'city']);
    expect(read).toBe(PLACEHOLDER_SAMPLE);
    // No {{name}}, nothing read; no message, nothing to compare with.
    read = 0;
    expect(await unknownPlaceholders({ text: 'Hello' }, sources([{}]))).toEqual([]);
    expect(read).toBe(0);
    expect(await unknownPlaceholders({ text: 'Hi {{name}}' }, sources([]))).toEqual([]);
  });
});
