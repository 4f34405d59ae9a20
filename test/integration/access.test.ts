import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { AuditLog, REFUSED_PER_MINUTE } from '../../src/access/audit.js';
import { ApiKeys } from '../../src/access/keys.js';
import { ROLES, type Role } from '../../src/access/roles.js';
import type { Config } from '../../src/config.js';
import { createDashboardApp } from '../../src/http/app.js';
import { RedisHealth } from '../../src/redis/health.js';
import { ROUTE_ROLES, routeOf, type RouteRole } from '../../src/http/route-roles.js';
import { createLogger } from '../../src/log.js';
import { runCli } from '../helpers/cli.js';
import { silentLogger, testConfig, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { contract, startDashboard } from '../helpers/contract.js';

const PASSWORD = 'correct horse battery staple';
const basic = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

const stack = useStack();
let logs = '';
afterEach(() => {
  logs = '';
});

/** `count` dashboards on one Redis and prefix, as a fleet runs them; their log lines are kept in `logs`. */
async function start(
  count = 1,
  overrides: Parameters<typeof testConfig>[0] = {},
): Promise<{ config: Config; urls: string[] }> {
  const { config } = await stack.start({
    config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, LOG_LEVEL: 'debug', ...overrides },
  });
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const log = createLogger({ destination: out, pretty: false, level: 'debug' });
    urls.push((await stack.startDashboard(config, startDashboard, log)).url);
  }
  return { config, urls };
}

const keysOf = () => new ApiKeys(stack.h.redis, stack.h.keys);

/** What each role may do, written out from the product's contract rather than read from the code. */
function expectedAllowed(role: Role, row: RouteRole): boolean {
  const route = `${row.method} ${row.path}`;
  const adminOnly =
    row.path.startsWith('/api/keys') ||
    row.path.startsWith('/api/audit') ||
    row.path.startsWith('/api/webhooks') ||
    !/^\/(api|metrics)/.test(row.path);
  if (role === 'admin') return true;
  if (role === 'send')
    return [
      'POST /api/campaigns/:id/messages',
      'GET /api/campaigns/:id',
      'GET /api/messages/:request_id',
      // The contract: the client a sending system generates from it uses its own key.
      'GET /api/openapi.json',
      'GET /api/docs',
    ].includes(route);
  if (row.method === 'GET') return !adminOnly;
  if (role === 'read') return false;
  return (
    /^POST \/api\/campaigns\/:id\/(pause|resume|cancel)$/.test(route) ||
    route === 'POST /api/suppressions' ||
    route === 'DELETE /api/suppressions' ||
    route === 'POST /api/messages/:request_id/remove' ||
    route === 'POST /api/dead-letters/replay' ||
    // Cancelling a follow-up rule stops sending, as a campaign's cancel does; making one writes new messages
    // to a campaign's audience, which only admin may (neither send nor control alone).
    route === 'POST /api/followups/:id/cancel'
  );
}

/** A concrete request for a row of the route table: its path with values for its parameters. */
function requestFor(row: RouteRole): { method: string; path: string; body?: string } {
  const path = row.path.replace(/:[a-z_]+/g, 'nothing-here').replace(/\/\*$/, '/api/queues');
  const method = row.method === 'ANY' ? 'GET' : row.method;
  if (method === 'GET') return { method, path };
  return { method, path, body: row.path.endsWith('/messages') ? '[]' : '{}' };
}

describe('API keys', () => {
  it('prints a key once, with its prefix and a check, and keeps only its digest', async () => {
    await start();
    const created = await keysOf().create({ name: 'crm', role: 'send', by: 'test' });
    expect(created.key).toMatch(/^wab_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    // Every key and every value under the prefix: the key's text is nowhere.
    const redis = stack.h.redis;
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, names] = await redis.scan(cursor, 'MATCH', `${stack.h.keys.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const name of names) {
        const type = await redis.type(name);
        const value =
          type === 'hash'
            ? JSON.stringify(await redis.hgetall(name))
            : type === 'zset'
              ? JSON.stringify(await redis.zrange(name, '0', '-1'))
              : type === 'string'
                ? String(await redis.get(name))
                : type === 'stream'
                  ? JSON.stringify(await redis.xrange(name, '-', '+'))
                  : '';
        found.push(name, value);
      }
    } while (cursor !== '0');
    expect(found.some((text) => text.includes('apikey'))).toBe(true);
    const secret = created.key.slice(13);
    expect(found.filter((text) => text.includes(secret))).toEqual([]);
  });

  it('refuses a malformed, unknown, revoked or expired key with 401 and a Bearer challenge', async () => {
    const { urls } = await start();
    const keys = keysOf();
    const live = await keys.create({ name: 'live', role: 'read', by: 'test' });
    const revoked = await keys.create({ name: 'gone', role: 'read', by: 'test' });
    await keys.revoke('gone');
    const expired = await keys.create({
      name: 'old',
      role: 'read',
      expiresInMs: 1000,
      now: Date.now() - 5000,
      by: 'test',
    });
    // A key of the right shape and check, but of no record.
    const other = await keys.create({ name: 'other', role: 'read', by: 'test' });
    await stack.h.redis.del(stack.h.keys.apiKey(other.prefix.slice(4)));
    const url = `${urls[0]}/api/campaigns`;
    expect((await fetch(url, { headers: bearer(live.key) })).status).toBe(200);
    for (const [key, error] of [
      ['wab_nonsense', 'unknown API key'],
      [`${live.key.slice(0, -1)}${live.key.endsWith('A') ? 'B' : 'A'}`, 'unknown API key'],
      [other.key, 'unknown API key'],
      [revoked.key, 'revoked API key'],
      [expired.key, 'expired API key'],
    ]) {
      const res = await fetch(url, { headers: bearer(key as string) });
      expect([key, res.status, ((await res.json()) as { error: string }).error]).toEqual([key, 401, error]);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="wa-bulk", error="invalid_token"');
    }
  });

  it('lets each role reach exactly the routes of its role, and names the role needed when it may not', async () => {
    const { urls } = await start();
    const keys = keysOf();
    const held = new Map<Role, string>();
    for (const role of ROLES) held.set(role, (await keys.create({ name: `k-${role}`, role, by: 'test' })).key);
    const walked: string[] = [];
    for (const row of ROUTE_ROLES) {
      const { method, path, body } = requestFor(row);
      for (const role of ROLES) {
        const res = await fetch(`${urls[0]}${path}`, {
          method,
          headers: { ...bearer(held.get(role) as string), 'Content-Type': 'application/json' },
          body,
        });
        const text = await res.text();
        const refusedForRole = res.status === 403 && text.includes('needs the role');
        walked.push(`${role} ${method} ${path}`);
        expect([role, method, path, refusedForRole]).toEqual([role, method, path, !expectedAllowed(role, row)]);
        expect([role, method, path, res.status === 401]).toEqual([role, method, path, false]);
        if (refusedForRole) expect(JSON.parse(text).error).toMatch(/needs the role (send|read|control|admin)/);
      }
    }
    expect(walked).toHaveLength(ROUTE_ROLES.length * ROLES.length);
    // A route the table does not name is an admin's only.
    const res = await fetch(`${urls[0]}/api/not-a-route`, { headers: bearer(held.get('control') as string) });
    expect(res.status).toBe(403);
    expect((await fetch(`${urls[0]}/api/not-a-route`, { headers: bearer(held.get('admin') as string) })).status).toBe(
      404,
    );
  });

  it('has a row of the route table for every route the app serves behind its login', async () => {
    const { config, h } = await stack.start({ config: { DASHBOARD_PASSWORD: PASSWORD } });
    const log = silentLogger();
    const app = createDashboardApp({ config, log, ...h, health: new RedisHealth(log) });
    type Layer = { route?: { path: unknown; methods: Record<string, boolean> } };
    const served = ((app as unknown as { router: { stack: Layer[] } }).router.stack ?? []).flatMap((layer) =>
      layer.route && typeof layer.route.path === 'string'
        ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route?.path as string}`)
        : [],
    );
    expect(served).toContain('POST /api/campaigns/:id/messages');
    const public_ = new Set(['GET /healthz']);
    const undeclared = served.filter((route) => {
      if (public_.has(route)) return false;
      const [method, path] = route.split(' ') as [string, string];
      const row = routeOf(method, path.replace(/:(\w+)/g, 'x'))?.row;
      return row === undefined || row.path !== path.replace(/:requestId/, ':request_id');
    });
    expect(undeclared).toEqual([]);
  });

  it('refuses a revoked, expired or rolled-over key at once in every dashboard process', async () => {
    const { urls } = await start(2);
    const [a, b] = urls as [string, string];
    const create = await fetch(`${a}/api/keys`, {
      method: 'POST',
      headers: { ...basic, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'shop', role: 'send' }),
    });
    expect(create.status).toBe(201);
    const { key } = (await create.json()) as { key: string };
    for (const url of [a, b])
      expect((await fetch(`${url}/api/campaigns/x`, { headers: bearer(key) })).status).toBe(404);
    const revoke = await fetch(`${a}/api/keys/shop`, {
      method: 'DELETE',
      headers: { ...basic, 'Content-Type': 'application/json' },
    });
    expect(await revoke.json()).toEqual({ name: 'shop', revoked: 1 });
    for (const url of [b, a])
      expect((await fetch(`${url}/api/campaigns/x`, { headers: bearer(key) })).status).toBe(401);

    // Rolled with no overlap: the old key stops at once, the new one works everywhere.
    const first = await keysOf().create({ name: 'crm', role: 'control', by: 'test' });
    const roll = await fetch(`${b}/api/keys/crm/roll`, {
      method: 'POST',
      headers: { ...basic, 'Content-Type': 'application/json' },
      body: JSON.stringify({ overlap: '1h' }),
    });
    const rolled = (await roll.json()) as { key: string; old_expires_at: string };
    expect(roll.status).toBe(201);
    for (const url of [a, b])
      expect((await fetch(`${url}/api/campaigns`, { headers: bearer(rolled.key) })).status).toBe(200);
    // The old one lives until its overlap ends, then is refused by both without a restart.
    await stack.h.redis.hset(stack.h.keys.apiKey(first.prefix.slice(4)), 'expires_at', String(Date.now() - 1));
    for (const url of [a, b]) {
      const res = await fetch(`${url}/api/campaigns`, { headers: bearer(first.key) });
      expect([url, res.status, ((await res.json()) as { error: string }).error]).toEqual([url, 401, 'expired API key']);
    }
    const listed = (await (await fetch(`${a}/api/keys`, { headers: basic })).json()) as {
      keys: Array<{ name: string; state: string; prefix: string }>;
    };
    expect(listed.keys.map((k) => [k.name, k.state])).toEqual([
      ['shop', 'revoked'],
      ['crm', 'expired'],
      ['crm', 'active'],
    ]);
    expect(JSON.stringify(listed)).not.toContain(rolled.key);
  });

  it('takes a key’s rate and a roll’s overlap as JSON numbers as well as text', async () => {
    const [url] = (await start()).urls as [string];
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { ...basic, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { key: string; error?: string } };
    };
    expect((await post('/api/keys', { name: 'r3', role: 'read', rate: 3 })).status).toBe(201);
    expect((await post('/api/keys', { name: 'r4', role: 'read', rate: '4/s' })).status).toBe(201);
    // The same words for 0 whether it came as a number or as text: a key has at least one request a second.
    for (const rate of [0, '0'])
      expect(await post('/api/keys', { name: 'r0', role: 'read', rate })).toEqual({
        status: 400,
        body: { error: 'rate: expected requests a second such as 20 or 20/s, got "0"' },
      });
    const listed = (await (await fetch(`${url}/api/keys`, { headers: basic })).json()) as {
      keys: Array<{ name: string; rate: number | null }>;
    };
    expect(listed.keys.map((k) => [k.name, k.rate])).toEqual([
      ['r3', 3],
      ['r4', 4],
    ]);

    // overlap 0, as the docs give it: the old key stops at once.
    const old = await keysOf().create({ name: 'crm', role: 'read', by: 'test' });
    const rolled = await post('/api/keys/crm/roll', { overlap: 0 });
    expect(rolled.status).toBe(201);
    expect((await fetch(`${url}/api/campaigns`, { headers: bearer(old.key) })).status).toBe(401);
    expect((await fetch(`${url}/api/campaigns`, { headers: bearer(rolled.body.key) })).status).toBe(200);
  });

  it('answers a key that floods with 429 and Retry-After, counts it per key name, and shares the count across processes', async () => {
    const { urls } = await start(2, { API_KEY_RATE: 1000 });
    const flood = await keysOf().create({ name: 'flood', role: 'read', rate: 2, by: 'test' });
    const calm = await keysOf().create({ name: 'calm', role: 'read', by: 'test' });
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => fetch(`${urls[i % 2]}/api/campaigns`, { headers: bearer(flood.key) })),
    );
    const statuses = burst.map((r) => r.status);
    // At most two windows of a second are touched: 2 + 2 answered, the rest refused.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(8);
    for (const r of limited) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key is not held back by it.
    expect((await fetch(`${urls[0]}/api/campaigns`, { headers: bearer(calm.key) })).status).toBe(200);
    let counted = 0;
    for (const url of urls) {
      const metrics = await (await fetch(`${url}/metrics`, { headers: basic })).text();
      counted += Number(/wa_bulk_api_key_limited_total\{key="flood"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(metrics).not.toContain(flood.key);
    }
    expect(counted).toBe(limited.length);
    expect(logs).not.toContain(flood.key.slice(13));
  });

  it('keeps the loopback rule for keys without a password, and a bad key is refused there too', async () => {
    const { urls } = await start(1, { DASHBOARD_PASSWORD: undefined });
    const reader = await keysOf().create({ name: 'reader', role: 'read', by: 'test' });
    expect((await fetch(`${urls[0]}/api/keys`)).status).toBe(200);
    expect((await fetch(`${urls[0]}/api/keys`, { headers: bearer(reader.key) })).status).toBe(403);
    expect((await fetch(`${urls[0]}/api/campaigns`, { headers: bearer('wab_wrong') })).status).toBe(401);
  });
});

describe('the audit log in Redis', () => {
  it('keeps entries RESULT_TTL_DAYS: an older one goes when the next is added', async () => {
    await start();
    const { redis, keys } = stack.h;
    const old = Date.now() - 2 * 86_400_000;
    await redis.xadd(keys.audit, `${old}-0`, 'at', String(old), 'actor', 'x', 'action', 'old', 'outcome', 'ok');
    const audit = new AuditLog(redis, keys, 86_400_000);
    await audit.record({ actor: 'x', action: 'new', outcome: 'ok' });
    expect((await audit.read()).map((e) => e.action)).toEqual(['new']);
  });

  it('records refused credentials without them, and at most REFUSED_PER_MINUTE a minute', async () => {
    const { urls } = await start();
    const guess = (i: number) =>
      fetch(`${urls[0]}/api/campaigns`, {
        headers: { Authorization: `Basic ${Buffer.from(`admin:guess-${i}`).toString('base64')}` },
      });
    // Within one minute of the clock (the limit's window): start again if the burst straddled two.
    for (;;) {
      await stack.h.redis.del(stack.h.keys.audit);
      const minute = Math.floor(Date.now() / 60_000);
      for (let i = 0; i < REFUSED_PER_MINUTE + 5; i++) expect((await guess(i)).status).toBe(i < 10 ? 401 : 429);
      // The entries are written once each answer is sent: wait for the last.
      await until(async () => (await stack.h.redis.xlen(stack.h.keys.audit)) >= REFUSED_PER_MINUTE);
      if (Math.floor(Date.now() / 60_000) === minute) break;
      await stack.h.redis.del(stack.h.keys.auditRefused(minute));
    }
    const entries = await new AuditLog(stack.h.redis, stack.h.keys, 86_400_000).read();
    expect(entries).toHaveLength(REFUSED_PER_MINUTE);
    // Newest first: the last one recorded says the rest were left out.
    expect(entries[0]?.outcome).toMatch(/further refusals this minute are not recorded$/);
    expect(JSON.stringify(entries)).not.toContain('guess-');
  });

  it('the command line creates, lists, rolls and revokes keys, and each change is in the log', async () => {
    const { env } = await stack.start();
    const created = await runCli(
      ['keys', 'create', '--name', 'crm', '--role', 'control', '--expires', '30d', '--json'],
      env,
    );
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { key: string; role: string; expires_at: string };
    expect(key).toMatchObject({ name: 'crm', role: 'control' });
    expect(Date.parse(key.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect((await runCli(['keys', 'create', '--name', 'crm', '--role', 'read'], env)).code).toBe(1);
    const rolled = await runCli(['keys', 'roll', 'crm', '--overlap', '0', '--json'], env);
    expect(rolled.code).toBe(0);
    const list = await runCli(['keys', 'list', '--json'], env);
    const listed = list.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { state: string; name: string });
    expect(listed.map((k) => [k.name, k.state])).toEqual([
      ['crm', 'expired'],
      ['crm', 'active'],
    ]);
    expect(list.stdout).not.toContain(key.key);
    expect((await runCli(['keys', 'revoke', 'crm'], env)).code).toBe(0);
    expect((await runCli(['keys', 'revoke', 'crm'], env)).code).toBe(1);
    const log = await runCli(['audit', '--json'], env);
    const actions = log.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; outcome: string; actor: string });
    expect(actions.map((e) => [e.action, e.outcome])).toEqual([
      ['key.create', 'ok'],
      ['key.create', 'exit 1'],
      ['key.roll', 'ok'],
      ['key.revoke', 'ok'],
      ['key.revoke', 'exit 1'],
    ]);
    expect(actions.every((e) => e.actor.startsWith('cli:'))).toBe(true);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
