import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseDotEnv } from '../../src/config.js';
import { assertListenable, isLoopback, isLoopbackHostHeader } from '../../src/http/security.js';
import { PassThrough } from 'node:stream';
import { createLogger, maskPhonesIn } from '../../src/log.js';
import { isPublicAddress } from '../../src/preflight/probe.js';

const TOKEN = 'tok_0123456789abcdef';
const config = (env: Record<string, string>) => loadConfig({ dotEnvPath: false, env });

describe('what counts as loopback', () => {
  it('is localhost, a four-part IPv4 literal in 127/8 or ::1, never a name that starts like one', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]'])
      expect([host, isLoopback(host)]).toEqual([host, true]);
    for (const host of [
      '127.0.0.1.evil.test',
      '127.evil.test',
      '127.0.0.1.nip.io',
      '127.1',
      'localhost.',
      'LOCALHOST.evil',
      '0x7f000001',
      '10.0.0.1',
      '',
    ])
      expect([host, isLoopback(host)]).toEqual([host, false]);
  });

  it('reads a Host header as host and optional port, and refuses anything after them', () => {
    for (const header of ['localhost', 'localhost:3000', '127.0.0.1:80', '[::1]:3000', '[::1]'])
      expect([header, isLoopbackHostHeader(header)]).toEqual([header, true]);
    for (const header of [
      'localhost:1@x',
      '[::1]x',
      '[::1].evil.test:3000',
      '127.0.0.1.evil.test:3000',
      'localhost:',
      'localhost:3000:1',
      undefined,
    ])
      expect([header, isLoopbackHostHeader(header)]).toEqual([header, false]);
  });

  it('applies the same rule to DASHBOARD_HOST, and asks for CALLBACK_TOKEN beyond loopback', () => {
    expect(() => assertListenable(config({ DASHBOARD_HOST: '127.0.0.1.nip.io' }))).toThrow(
      /not a loopback address; set DASHBOARD_PASSWORD/,
    );
    expect(() =>
      assertListenable(config({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_PASSWORD: 'a long password' })),
    ).toThrow(/set CALLBACK_TOKEN/);
    expect(() =>
      assertListenable(
        config({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_PASSWORD: 'a long password', CALLBACK_TOKEN: TOKEN }),
      ),
    ).not.toThrow();
    expect(() => assertListenable(config({ DASHBOARD_HOST: '127.0.0.1' }))).not.toThrow();
  });
});

describe('secrets in the configuration', () => {
  it('refuses a dashboard password shorter than 12 characters', () => {
    expect(() => config({ DASHBOARD_PASSWORD: 'short' })).toThrow(
      'DASHBOARD_PASSWORD: expected at least 12 characters',
    );
  });

  it('takes two callback tokens at once, for a rotation, and refuses a third or a short one', () => {
    expect(config({ CALLBACK_TOKEN: `${TOKEN},${TOKEN}x` }).CALLBACK_TOKEN).toBe(`${TOKEN},${TOKEN}x`);
    expect(() => config({ CALLBACK_TOKEN: `${TOKEN},${TOKEN},${TOKEN}` })).toThrow(ConfigError);
    expect(() => config({ CALLBACK_TOKEN: `${TOKEN},short` })).toThrow(ConfigError);
  });

  it('does not silently cut a secret in .env at " #", and still reads comments after other values', () => {
    expect(() => parseDotEnv('DASHBOARD_PASSWORD=correct horse #battery staple\n')).toThrow(
      'DASHBOARD_PASSWORD: its value in .env holds " #", which would start a comment; quote the value',
    );
    expect(parseDotEnv('DASHBOARD_PASSWORD="correct horse #battery staple"\n').DASHBOARD_PASSWORD).toBe(
      'correct horse #battery staple',
    );
    expect(parseDotEnv('SEND_RATE_MAX=80 # the account cap\n').SEND_RATE_MAX).toBe('80');
  });
});

describe('phone numbers in logs', () => {
  it('are masked when written in groups, inside identifiers, and in error messages', () => {
    const cases: Array<[string, string]> = [
      ['to +44 7911 123456 now', 'to +4479******56 now'],
      ['+44-7911-123456', '+4479******56'],
      ['0044 7911 123456', '0044********56'],
      ['wa_id_447911123456', 'wa_id_4479******56'],
      ['id-447911123456', 'id-4479******56'],
      ['v1.447911123456', 'v1.4479******56'],
      ['447911123456', '4479******56'],
    ];
    for (const [text, masked] of cases) expect(maskPhonesIn(text)).toBe(masked);
  });

  it('are masked in an error object logged as a field', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    createLogger({ destination: out, pretty: false }).error(
      { err: new Error('3003: to 447911123456 is invalid') },
      'failed',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks.join('')).toContain('to 4479******56 is invalid');
    expect(chunks.join('')).not.toContain('447911123456');
  });

  it('leaves dates, times, short numbers and hexadecimal ids alone', () => {
    for (const text of ['2026-12-07T06:03:57.000Z', 'took 1500 ms', 'code 131048', 'a1b2c3d4e5f6447911', 'spring-3f'])
      expect(maskPhonesIn(text)).toBe(text);
  });
});

describe('numbers in logs that are not phone numbers', () => {
  it('are left alone when they are sizes, durations or counts, or times in milliseconds and ids made of them', () => {
    for (const text of [
      'request body is larger than 16777216 bytes; split it',
      'took 2500000 ms',
      'line is longer than 1000000 characters',
      'at 1765087437123',
      'entry 1765087437123-0',
      'job 123456789012345',
    ])
      expect(maskPhonesIn(text)).toBe(text);
  });

  it('still masks every international number, with or without +, and national numbers starting with 1', () => {
    const cases: Array<[string, string]> = [
      ['to 12025550123', 'to 1202*****23'],
      ['to +12025550123 bytes', 'to +1202*****23 bytes'],
      ['to 447911123456, 2 messages', 'to 4479******56, 2 messages'],
      ['to 8613812345678', 'to 8613*******78'],
      ['to 1145678901', 'to 1145****01'],
      ['to +44 7911 123456 ms', 'to +4479******56 ms'],
    ];
    for (const [text, masked] of cases) expect(maskPhonesIn(text)).toBe(masked);
  });
});

describe("preflight's address guard", () => {
  it('takes IPv6 as public only in 2000::/3', () => {
    for (const address of [
      '::7f00:1',
      '::a00:1',
      '::2',
      '64:ff9b::7f00:1',
      'fc00::1',
      'fe80::1',
      '::1',
      '2002:7f00:1::',
    ])
      expect([address, isPublicAddress(address)]).toEqual([address, false]);
    for (const address of ['2606:4700::1111', '8.8.8.8'])
      expect([address, isPublicAddress(address)]).toEqual([address, true]);
  });
});
