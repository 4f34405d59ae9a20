import { describe, expect, it } from '@jest/globals';
import { toCampaign } from '../../src/ledger/records.js';
import { PACE_MS } from '../../src/scripts/settle-messages.js';
import { breakdown, campaignTiming, duration } from '../../src/status/campaign-words.js';

/** A campaign's figures from its counters at a given moment: its rate, ETA and finish, and their words. */

const NOW = Date.UTC(2026, 4, 1, 9, 10, 0);
const base = { total: '1000', sent: '850', dead: '50' };

describe('a campaign in figures', () => {
  it('rates a sending campaign from its pace over the last minute, and gives the ETA of what is pending at that rate', () => {
    // Sending for ten minutes, its pace (settle-messages.lua) last moved a minute ago: 5 a second now.
    const c = toCampaign(
      'spring',
      { ...base, started_at: String(NOW - 600_000), pace: String(300 * Math.E), pace_at: String(NOW - PACE_MS) },
      NOW,
    );
    expect(c).toMatchObject({ state: 'sending', pending: 100, rate: 5, finished_at: null });
    expect(c?.eta).toBe(new Date(NOW + 20_000).toISOString());
    expect(campaignTiming(c!, NOW)).toEqual([
      'started 2026-05-01 09:00:00Z',
      'running 10 min 0 s',
      'rate 5/s',
      'ETA 2026-05-01 09:10:20Z (in 20 s)',
    ]);
  });

  it('rates a campaign that started seconds ago over those seconds, not over a whole minute', () => {
    const c = toCampaign('fresh', { ...base, started_at: String(NOW - 2000), pace: '8', pace_at: String(NOW) }, NOW);
    // 8 requests in 2 s (the pace has barely decayed): about 4 a second, not 8/60.
    expect(c?.rate).toBeGreaterThan(3.9);
    expect(c?.rate).toBeLessThan(4.1);
  });

  it('gives no ETA while paused, nor a rate the long-term ledger cannot know', () => {
    const paused = toCampaign(
      'held',
      { ...base, state: 'paused', started_at: String(NOW - 600_000), pace: '300', pace_at: String(NOW) },
      NOW,
    );
    expect(paused).toMatchObject({ state: 'paused', eta: null });
    expect(paused?.rate).toBeGreaterThan(0);
    expect(toCampaign('archived', { ...base, started_at: String(NOW - 600_000) }, NOW)).toMatchObject({
      rate: null,
      eta: null,
    });
    expect(toCampaign('unstarted', base, NOW)).toMatchObject({ started_at: null, rate: null, eta: null });
  });

  it('times a finished campaign from its first to its last settled message, and rates it on average', () => {
    const c = toCampaign(
      'done',
      { ...base, skipped: '100', started_at: String(NOW - 250_000), last_at: String(NOW - 50_000), pace: '1' },
      NOW,
    );
    expect(c).toMatchObject({ state: 'done', rate: 4.5, eta: null, finished_at: '2026-05-01T09:09:10.000Z' });
    expect(campaignTiming(c!, NOW)).toEqual([
      'started 2026-05-01 09:05:50Z',
      'finished 2026-05-01 09:09:10Z',
      'took 3 min 20 s',
      'rate 4.5/s on average',
    ]);
  });

  it('names every skip reason, and counts failed deliveries by code', () => {
    const c = toCampaign(
      'mixed',
      { ...base, skipped: '3', 'skipped:expired': '2', 'skipped:cancelled': '1', 'delivery_code:131026': '4' },
      NOW,
    );
    expect(c?.skipped_by).toEqual({
      expired: 2,
      cancelled: 1,
      suppressed: 0,
      no_session: 0,
      removed: 0,
      frequency_cap: 0,
    });
    expect(c?.delivery_failed_by_code).toEqual({ '131026': 4 });
    expect(breakdown(c!.skipped_by, ' ')).toBe('expired 2, cancelled 1');
    expect(breakdown({ '131026': 1200, none: 0 })).toBe('131026 × 1,200');
  });

  it('says durations the way people read them', () => {
    expect([400, 42_000, 252_000, 11_100_000, 3 * 86_400_000 + 3_600_000].map(duration)).toEqual([
      'under a second',
      '42 s',
      '4 min 12 s',
      '3 h 5 min',
      '3 d 1 h',
    ]);
  });
});
