import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseDotEnv, requireCredentials } from '../../src/config.js';

const load = (env: Record<string, string>, overrides = {}) => loadConfig({ env, overrides, dotEnvPath: false });

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(load({})).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'wa-bulk',
      ENGAGELAB_BASE_URL: 'https://wa.api.engagelab.cc',
      SEND_RATE_MAX: 80,
      SEND_RATE_DURATION_MS: 1000,
      WORKER_CONCURRENCY: 100,
      HTTP_TIMEOUT_MS: 15000,
      RETRY_RETRIES: 3,
      RETRY_MIN_MS: 500,
      RETRY_MAX_MS: 5000,
      SEND_ATTEMPTS: 5,
      SEND_BACKOFF_MS: 30000,
      AMBIGUOUS_OUTCOME: 'dead-letter',
      RESULT_TTL_DAYS: 30,
      DASHBOARD_HOST: '127.0.0.1',
      DASHBOARD_PORT: 3000,
      LOG_LEVEL: 'info',
    });
  });

  it('is frozen', () => {
    const config = load({});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads numbers from the environment, and explicit options win', () => {
    expect(load({ SEND_RATE_MAX: '250' }).SEND_RATE_MAX).toBe(250);
    expect(load({ SEND_RATE_MAX: '250' }, { SEND_RATE_MAX: 40 }).SEND_RATE_MAX).toBe(40);
  });

  it('treats an empty string as unset', () => {
    const config = load({ SEND_RATE_MAX: '', WA_FROM: '' });
    expect(config.SEND_RATE_MAX).toBe(80);
    expect(config.WA_FROM).toBeUndefined();
  });

  it.each([
    ['SEND_RATE_MAX', 'fast', 'SEND_RATE_MAX: expected an integer between 1 and 100000, got "fast"'],
    ['WORKER_CONCURRENCY', '0', 'WORKER_CONCURRENCY: expected an integer between 1 and 10000, got "0"'],
    ['AMBIGUOUS_OUTCOME', 'maybe', 'AMBIGUOUS_OUTCOME: expected "dead-letter" or "resend", got "maybe"'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL: expected a URL starting with redis:// or rediss://'],
    [
      'ENGAGELAB_BASE_URL',
      'ftp://x',
      'ENGAGELAB_BASE_URL: expected a URL starting with http:// or https://, got "ftp://x"',
    ],
    ['WA_FROM', 'office', 'WA_FROM: expected an international phone number (country code and number), got "office"'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
  ])('stops on a wrong %s with one line naming it', (name, value, message) => {
    expect(() => load({ [name]: value })).toThrow(new ConfigError(name, message.slice(name.length + 2)));
    expect(message).not.toContain('\n');
  });

  it('never echoes a secret back', () => {
    let error: unknown;
    try {
      load({ CALLBACK_TOKEN: 'short-secret' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^CALLBACK_TOKEN: /);
    expect((error as Error).message).not.toContain('short-secret');
  });

  it('reads CALLBACK_ALLOW_FROM and CALLBACK_TRUSTED_PROXIES as networks or a hop count, naming a bad one', () => {
    expect(load({}).CALLBACK_ALLOW_FROM).toBeUndefined();
    expect(load({ CALLBACK_ALLOW_FROM: ' , ' }).CALLBACK_ALLOW_FROM).toBeUndefined();
    expect(load({}).CALLBACK_TRUSTED_PROXIES).toBe(0);
    expect(
      load({ CALLBACK_ALLOW_FROM: ' 203.0.113.0/24, 2001:db8::/32 ,198.51.100.7', CALLBACK_TRUSTED_PROXIES: '2' }),
    ).toMatchObject({
      CALLBACK_ALLOW_FROM: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7/32'],
      CALLBACK_TRUSTED_PROXIES: 2,
    });
    expect(load({ CALLBACK_ALLOW_FROM: '203.0.113.0/24', CALLBACK_TRUSTED_PROXIES: '10.0.0.0/8,::1' })).toMatchObject({
      CALLBACK_TRUSTED_PROXIES: ['10.0.0.0/8', '::1/128'],
    });
    for (const bad of ['203.0.113.0/33', '127.1', '0x7f.0.0.1', 'example.com', '10.0.0.0/8/1', '::1/129'])
      expect(() => load({ CALLBACK_ALLOW_FROM: `10.0.0.0/8,${bad}` })).toThrow(
        `CALLBACK_ALLOW_FROM: expected networks separated by commas, each an address or a CIDR block (e.g. 203.0.113.0/24,2001:db8::/32), and "${bad}" is not one`,
      );
    expect(() => load({ CALLBACK_ALLOW_FROM: '10.0.0.0/8', CALLBACK_TRUSTED_PROXIES: '11' })).toThrow(
      'CALLBACK_TRUSTED_PROXIES: expected a number of proxy hops from 0 to 10, or their networks, got "11"',
    );
    expect(() => load({ CALLBACK_ALLOW_FROM: '10.0.0.0/8', CALLBACK_TRUSTED_PROXIES: 'proxy' })).toThrow(
      '"proxy" is not one',
    );
    expect(() => load({ CALLBACK_TRUSTED_PROXIES: '1' })).toThrow(
      "CALLBACK_TRUSTED_PROXIES: only says how to find a callback's source for CALLBACK_ALLOW_FROM, which is not set",
    );
  });

  it('reads DASHBOARD_TRUSTED_PROXIES as a hop count or networks, on its own, naming a bad one', () => {
    expect(load({}).DASHBOARD_TRUSTED_PROXIES).toBe(0);
    expect(load({ DASHBOARD_TRUSTED_PROXIES: '1' }).DASHBOARD_TRUSTED_PROXIES).toBe(1);
    expect(load({ DASHBOARD_TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).DASHBOARD_TRUSTED_PROXIES).toEqual([
      '10.0.0.0/8',
      '::1/128',
    ]);
    expect(() => load({ DASHBOARD_TRUSTED_PROXIES: '11' })).toThrow(
      'DASHBOARD_TRUSTED_PROXIES: expected a number of proxy hops from 0 to 10, or their networks, got "11"',
    );
    expect(() => load({ DASHBOARD_TRUSTED_PROXIES: 'proxy' })).toThrow(
      /^DASHBOARD_TRUSTED_PROXIES: .*"proxy" is not one/,
    );
  });

  it('reads FREQUENCY_CAP as a count per rolling window and MARKETING_REST as a duration, naming a bad one', () => {
    expect(load({})).toMatchObject({ MARKETING_REST: 86_400_000 });
    expect(load({}).FREQUENCY_CAP).toBeUndefined();
    expect(load({ FREQUENCY_CAP: '2/7d', MARKETING_REST: '6h' })).toMatchObject({
      FREQUENCY_CAP: { max: 2, windowMs: 7 * 86_400_000 },
      MARKETING_REST: 6 * 3_600_000,
    });
    expect(load({ FREQUENCY_CAP: ' 1 / 36h ', MARKETING_REST: '0' })).toMatchObject({
      FREQUENCY_CAP: { max: 1, windowMs: 36 * 3_600_000 },
      MARKETING_REST: 0,
    });
    for (const bad of ['2', '0/7d', '2/7 days', '2/500ms', '-1/7d', '2/400d'])
      expect(() => load({ FREQUENCY_CAP: bad })).toThrow(
        `FREQUENCY_CAP: expected MAX/WINDOW: a count from 1 and a duration from 1s to 366d (e.g. 2/7d, 1/24h), got "${bad}"`,
      );
    expect(() => load({ MARKETING_REST: 'a day' })).toThrow(
      'MARKETING_REST: expected a duration from 1s to 30d (e.g. 24h, 6h, 90m; a bare number is ms), or 0 for no rest, got "a day"',
    );
    expect(() => load({ MARKETING_REST: '31d' })).toThrow('MARKETING_REST: expected a duration from 1s');
    // `24` meant as hours would be 24 ms: a rest under a second is refused.
    expect(() => load({ MARKETING_REST: '24' })).toThrow('MARKETING_REST: expected a duration from 1s');
  });

  it('checks bounds that depend on each other', () => {
    expect(() => load({ RETRY_MIN_MS: '6000' })).toThrow('RETRY_MIN_MS: expected at most RETRY_MAX_MS (5000)');
  });

  it('reads .env, with the environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-bulk-env-'));
    const path = join(dir, '.env');
    writeFileSync(path, '# comment\nSEND_RATE_MAX=120\nexport WA_FROM="+8613800138000"\nLOG_LEVEL=debug # inline\n');
    const config = loadConfig({ env: { LOG_LEVEL: 'warn' }, dotEnvPath: path });
    expect(config).toMatchObject({ SEND_RATE_MAX: 120, WA_FROM: '8613800138000', LOG_LEVEL: 'warn' });
    expect(parseDotEnv("A='x y'\nB=1 # c\n")).toEqual({ A: 'x y', B: '1' });
  });

  it('names the missing credential the worker needs', () => {
    expect(() => requireCredentials(load({}))).toThrow('ENGAGELAB_DEV_KEY: required by the worker');
    expect(() => requireCredentials(load({ ENGAGELAB_DEV_KEY: 'k' }))).toThrow(
      'ENGAGELAB_DEV_SECRET: required by the worker',
    );
    expect(requireCredentials(load({ ENGAGELAB_DEV_KEY: 'k', ENGAGELAB_DEV_SECRET: 's' }))).toEqual({
      key: 'k',
      secret: 's',
    });
  });
});
