import { describe, expect, it } from '@jest/globals';
import { RedisClock } from '../../workers/gate/clock.js';
import { pacingFor } from '../../workers/gate/pacing.js';

describe('the gate pacing', () => {
  it.each([
    [80, 1000],
    [1000, 1000],
    [20, 1000],
    [40, 1000],
    [5000, 60_000],
  ])('lets exactly %s requests leave in any %s ms window, burst and trip included', (max, windowMs) => {
    const p = pacingFor(max, windowMs);
    // Grants in a span of T ms: ⌊(T + burst) / spacing⌋ + 1; requests leave within trip of their grant, so a
    // window of windowMs sees the grants of windowMs + trip.
    const worst = Math.floor((windowMs + p.tripMs + p.burstMs) / p.spacingMs) + 1;
    expect(worst).toBe(max);
    expect(p.minSleepMs).toBeLessThanOrEqual(p.burstMs);
  });

  it('costs burst and trip, 3% of the limit at 1 s windows', () => {
    const p = pacingFor(1000, 1000);
    const share = 1000 / p.spacingMs / 1000;
    expect(share).toBeGreaterThan(0.965);
    expect(share).toBeLessThan(0.975);
  });
});

describe("the gate's clock", () => {
  it('dates a grant by the smallest offset seen, so the outbound trip never counts as lateness', () => {
    const clock = new RedisClock(15, 250);
    // Redis is 1,000 ms ahead; the first ask took 0 ms to arrive, the second 7 ms.
    expect(clock.localTime(100, 1100, 103)).toBe(100);
    expect(clock.localTime(200, 1207, 210)).toBe(207);
  });

  it('asks for grants ahead only when every recent answer came back later than the trip allowance', () => {
    const clock = new RedisClock(15, 250);
    let t = 0;
    const answer = (lagMs: number) => {
      t += 100;
      clock.localTime(t, t + 5000, t + lagMs);
    };
    for (let i = 0; i < 9; i++) answer(40);
    expect(clock.lead()).toBe(39);
    answer(2);
    expect(clock.lead()).toBe(0);
    for (let i = 0; i < 9; i++) answer(900);
    expect(clock.lead()).toBe(250);
  });
});
