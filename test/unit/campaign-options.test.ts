import { describe, expect, it } from '@jest/globals';
import {
  campaignOptions,
  FLAG_NAMES,
  isoTime,
  MAX_AHEAD_MS,
  parseDuration,
  parseSince,
  parseTime,
} from '../../src/campaigns/options.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');

describe('campaign options: times and durations', () => {
  it('reads an ISO 8601 time with an offset, to the millisecond', () => {
    expect(isoTime('2026-12-24T09:00:00+01:00')).toBe(Date.parse('2026-12-24T08:00:00Z'));
    expect(isoTime('2026-12-24T09:00:00.250+0100')).toBe(Date.parse('2026-12-24T08:00:00.250Z'));
    expect(isoTime('2028-02-29T00:00Z')).toBe(Date.parse('2028-02-29T00:00:00Z'));
  });

  it('refuses a date the calendar does not have instead of moving it to the next month', () => {
    for (const text of [
      '2027-02-30T10:00:00Z',
      '2027-02-29T10:00:00Z',
      '2026-11-31T09:00:00Z',
      '2026-13-01T09:00:00Z',
      '2026-12-00T09:00:00Z',
      '2026-12-24T24:00:00Z',
      '2026-12-24T23:60:00Z',
      '2026-12-24T23:00:61Z',
      '2026-12-24T09:00:00+25:00',
      '2026-12-24T09:00:00',
    ])
      expect(isoTime(text)).toBeUndefined();
    expect(() => parseTime('2027-02-30T10:00:00Z', '--at', NOW)).toThrow(
      '--at: expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or +30m, got "2027-02-30T10:00:00Z"',
    );
    expect(() => parseSince('2026-11-31T09:00:00Z', '--since', NOW)).toThrow('--since: expected an ISO 8601 time');
    // The expiry is refused as what it is, not as "the campaign would expire before it starts".
    expect(() => campaignOptions({ expiresAt: '2026-11-31T09:00:00Z' }, FLAG_NAMES, NOW)).toThrow(
      '--expires-at: expected an ISO 8601 time',
    );
  });

  it('bounds durations and times ahead at ten years, naming the option', () => {
    expect(parseDuration('3650d', '--expires-in')).toBe(MAX_AHEAD_MS);
    expect(() => parseDuration('3651d', '--expires-in')).toThrow(
      '--expires-in: expected a duration of at most 3650d (ten years), got "3651d"',
    );
    expect(() => parseDuration('99999999999d', 'after')).toThrow('after: expected a duration of at most 3650d');
    expect(() => parseTime('+99999999999d', '--at', NOW)).toThrow('--at: expected a duration of at most 3650d');
    expect(() => parseTime('9999-12-31T00:00:00Z', '--at', NOW)).toThrow(
      '--at: "9999-12-31T00:00:00Z" is more than ten years ahead',
    );
    expect(parseTime('+3650d', '--at', NOW)).toBe(NOW + MAX_AHEAD_MS);
    expect(() => parseSince('99999999999d', '--since', NOW)).toThrow('--since: expected a duration of at most 3650d');
    expect(parseSince('7d', '--since', NOW)).toBe(NOW - 7 * 86_400_000);
  });
});
