import { describe, expect, it } from '@jest/globals';
import { KEPT_ROW_CHARS, MAX_ROW_CHARS, plausibleItime, takeRows } from '../../src/engagelab/callback-rows.js';

const NOW = Date.UTC(2026, 0, 15, 12);
const NOW_S = NOW / 1000;
const status = (extra: Record<string, unknown> = {}) => ({
  message_id: 'm1',
  itime: NOW_S - 60,
  status: { message_status: 'read' },
  ...extra,
});

describe('a callback batch taken row by row', () => {
  it('takes every row it understands and keeps the others aside, each with its reason', () => {
    const { taken, unknown } = takeRows(
      [
        status(),
        { message_id: 'm2', status: {} },
        { message_id: 'm3', status: { message_status: 'read' }, notification: { event: 'x' } },
        { status: { message_status: 'read' } },
        null,
        ['a'],
        'text',
        status({ message_id: 'm4' }),
        { notification: { event: 'insufficient_balance' } },
      ],
      NOW,
    );
    expect(taken.map((r) => r.message_id ?? r.notification?.event)).toEqual(['m1', 'm4', 'insufficient_balance']);
    expect(unknown.map((u) => u.error)).toEqual([
      expect.stringMatching(/message_status/),
      expect.stringMatching(/exactly one of/),
      expect.stringMatching(/needs a "message_id"/),
      'a row must be an object',
      'a row must be an object',
      'a row must be an object',
    ]);
    expect(unknown[0]).toEqual({
      received_at: NOW,
      error: expect.any(String),
      row: '{"message_id":"m2","status":{}}',
      truncated: false,
    });
  });

  it('replaces an implausible itime (before 2015, over a day ahead, ms, 1e20, not a number) by the time of receipt', () => {
    const itimes = [1e20, -1, 0, 1_400_000_000, NOW, NOW_S + 2 * 86_400, '1700000000', Number.NaN, null];
    const { taken, itimeReplaced } = takeRows(
      itimes.map((itime) => status({ itime })),
      NOW,
    );
    expect(taken.map((r) => r.itime)).toEqual(itimes.map(() => NOW_S));
    expect(itimeReplaced).toBe(itimes.length);
    const kept = takeRows(
      [status({ itime: 1_700_000_000 }), status({ itime: NOW_S + 3600 }), status({ itime: undefined })],
      NOW,
    );
    expect(kept.taken.map((r) => r.itime)).toEqual([1_700_000_000, NOW_S + 3600, NOW_S]);
    expect(kept.itimeReplaced).toBe(0);
    expect(plausibleItime(1_420_070_400, NOW)).toBe(1_420_070_400);
    expect(plausibleItime(1_420_070_399, NOW)).toBeUndefined();
  });

  it('keeps a row too large or too deeply nested to take aside, cut to a bounded size', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const { taken, unknown } = takeRows(
      [status({ custom_args: { note: 'y'.repeat(MAX_ROW_CHARS) } }), status({ custom_args: { deep } }), status()],
      NOW,
    );
    expect(taken).toHaveLength(1);
    expect(unknown.map((u) => u.error)).toEqual([
      expect.stringMatching(/too large to take \(\d+ characters/),
      expect.stringMatching(/too large to take \(nested too deeply/),
    ]);
    expect(unknown[0]?.row).toHaveLength(KEPT_ROW_CHARS);
    expect(unknown[0]?.truncated).toBe(true);
    expect(unknown[1]?.row).toMatch(/nested too deeply/);
  });
});
