import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { filterProblem, matchesFilters, parseFilters } from '../../src/events/filters.js';
import { newSecret, secretProblem, signedHeaders } from '../../src/events/signing.js';

describe('webhook signatures', () => {
  it('are what the standardwebhooks package verifies, for a body with any characters', () => {
    const secret = newSecret();
    const body = JSON.stringify({
      type: 'message.sent',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: { t: 'é 😀 "q"' },
    });
    const headers = signedHeaders([secret], 'msg_1765100000000-0', body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fail verification for a body changed by one character, or another secret', () => {
    const secret = newSecret();
    const body = '{"type":"sending.resumed","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
    const headers = signedHeaders([secret], 'msg_1-0', body);
    expect(() => new Webhook(secret).verify(body.replace('{}', '{ }'), headers)).toThrow('No matching signature found');
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow('No matching signature found');
  });

  it('carry one signature per secret during a rotation, each verifying alone', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const body = '{}';
    const headers = signedHeaders([current, previous], 'msg_2-0', body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [current, previous]) expect(new Webhook(secret).verify(body, headers)).toEqual({});
  });

  it('take only whsec_ secrets of 24 to 64 bytes', () => {
    expect(secretProblem(newSecret())).toBeUndefined();
    expect(secretProblem(`whsec_${Buffer.alloc(24).toString('base64')}`)).toBeUndefined();
    expect(secretProblem(Buffer.alloc(32).toString('base64'))).toBe('expected "whsec_" followed by base64');
    expect(secretProblem(`whsec_${Buffer.alloc(16).toString('base64')}`)).toBe(
      'expected a key of 24 to 64 bytes, not 16',
    );
    expect(secretProblem('whsec_not base64!')).toBe('expected "whsec_" followed by base64');
  });
});

describe('event filters', () => {
  it('match a type, a group with a wildcard, or everything', () => {
    expect(matchesFilters(['message.*'], 'message.read')).toBe(true);
    expect(matchesFilters(['message.*'], 'campaign.done')).toBe(false);
    expect(matchesFilters(['campaign.done', 'contact.opted_out'], 'contact.opted_out')).toBe(true);
    expect(matchesFilters(['*'], 'sending.paused')).toBe(true);
    expect(matchesFilters([], 'webhook.disabled')).toBe(true);
  });

  it('refuse what names no event, saying what would', () => {
    expect(filterProblem('message.opened')).toMatch(/^"message.opened" is not an event type \(message.sent, /);
    expect(filterProblem('messages.*')).toMatch(/"<group>.\*" \(message, contact, campaign, sending, webhook\)/);
    expect(() => parseFilters('message.*, nothing')).toThrow('"nothing" is not an event type');
    expect(parseFilters(' message.* ,campaign.done,')).toEqual(['message.*', 'campaign.done']);
  });
});
