import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { hasClusterSupport, startRedisCluster, type ClusterHandle } from '../../src/dev/redis-server.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, testConfig, until } from '../helpers/env.js';
import { Stack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** wa-bulk on a real 3-master Redis Cluster, through a live migration of its slot. */

const supported = hasClusterSupport();
if (!supported) console.error('skipping the Redis Cluster tests: this redis-server or redis-cli cannot make a cluster');
const maybe = supported ? describe : describe.skip;

let cluster: ClusterHandle | undefined;
// The cluster serves the whole file; a test's parts are stopped with it, after the last test.
const stack = new Stack();
beforeAll(async () => {
  if (supported) cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await stack.stop();
  await cluster?.stop();
});

/** Moves one slot from its node to another, key by key (CLUSTER SETSLOT … IMPORTING/MIGRATING, MIGRATE). */
async function migrateSlot(
  slot: number,
  nodes: Array<{ host: string; port: number }>,
): Promise<{ from: number; to: number }> {
  const clients = nodes.map((n) => new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 1 }));
  try {
    const ids = await Promise.all(clients.map((c) => c.cluster('MYID') as Promise<string>));
    const table = (await (clients[0] as Redis).cluster('SLOTS')) as unknown as Array<
      [number, number, [string, number, string]]
    >;
    const owner = ids.indexOf(table.find(([start, end]) => slot >= start && slot <= end)?.[2][2] as string);
    const target = (owner + 1) % clients.length;
    const [src, dst] = [clients[owner] as Redis, clients[target] as Redis];
    await dst.cluster('SETSLOT', slot, 'IMPORTING', ids[owner] as string);
    await src.cluster('SETSLOT', slot, 'MIGRATING', ids[target] as string);
    for (;;) {
      const keys = (await src.cluster('GETKEYSINSLOT', slot, 50)) as string[];
      if (keys.length === 0) break;
      await src.migrate(nodes[target]?.host as string, nodes[target]?.port as number, '', 0, 5000, 'KEYS', ...keys);
      // Let the workers run between batches: the campaign goes on while the slot moves.
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const client of clients) await client.cluster('SETSLOT', slot, 'NODE', ids[target] as string);
    return { from: owner, to: target };
  } finally {
    for (const client of clients) client.disconnect();
  }
}

maybe('on a Redis Cluster', () => {
  it('refuses a QUEUE_PREFIX without a {hash tag} in one line', async () => {
    const env = envOf(
      testConfig({
        REDIS_CLUSTER_NODES: cluster?.nodes.map((n) => `${n.host}:${n.port}`).join(','),
        QUEUE_PREFIX: `{t-${randomBytes(4).toString('hex')}}`,
      }),
    );
    const res = await runCli(['status'], { ...env, QUEUE_PREFIX: 'plain-prefix' });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'wa-bulk: QUEUE_PREFIX: with REDIS_CLUSTER_NODES set, expected a {hash tag} such as "{plain-prefix}", got "plain-prefix"\n',
    );
  });

  it('enqueues, sends and reports a campaign while its slot moves to another node: nothing lost, nothing twice, no errors', async () => {
    const sim = await stack.startSimulator();
    const nodes = (cluster as ClusterHandle).nodes;
    const config = testConfig({
      REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(','),
      QUEUE_PREFIX: `{t-${randomBytes(4).toString('hex')}}`,
      ENGAGELAB_BASE_URL: sim.url,
      SEND_RATE_MAX: 100,
      SENDER_RATE_MAX: 100,
      LOG_LEVEL: 'info',
    });
    const h = stack.harness(config);
    const env = envOf(config);
    const count = 400;
    const file = tempFile(
      jsonl(Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.text, request_id: `c-${i}` }))),
    );
    const enq = await runCli(['enqueue', file, '--campaign', 'moving', '--json'], env);
    expect(JSON.parse(enq.stdout)).toMatchObject({ accepted: count, rejected: 0 });
    const worker = await stack.startCli(['worker'], env);
    await until(async () => ((await h.ledger.campaign('moving'))?.sent ?? 0) >= 60, 20_000);

    const slot = Number(
      await (h.redis as unknown as { cluster(...args: string[]): Promise<number> }).cluster(
        'KEYSLOT',
        config.QUEUE_PREFIX,
      ),
    );
    const moved = await migrateSlot(slot, nodes);
    expect(moved.from).not.toBe(moved.to);
    await campaignDone(h.ledger, 'moving', 60_000);

    expect(await h.ledger.campaign('moving')).toMatchObject({ total: count, sent: count, dead: 0 });
    expect(sim.getStats().accepted).toBe(count);
    expect(sim.getStats().duplicates).toBe(0);
    const status = JSON.parse((await runCli(['status', '--campaign', 'moving', '--json'], env)).stdout);
    expect(status.campaign).toMatchObject({ state: 'done', sent: count });
    const exported = (await runCli(['export', '--campaign', 'moving'], env)).stdout.trim().split('\n');
    expect(exported).toHaveLength(count);
    // The migration cost retries (ASK, TRYAGAIN), not errors.
    expect(worker.output()).not.toMatch(/"level":50/);
  });
});
