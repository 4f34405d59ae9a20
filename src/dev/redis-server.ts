import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * `npm test` and `wa-bulk demo` need a Redis. They use REDIS_URL when it answers; otherwise they start a
 * private, throwaway `redis-server` (no persistence) on a free loopback port and stop it afterwards.
 */

export const INSTALL_HINT =
  'Redis is needed: set REDIS_URL to a running Redis, or install it with: apt-get install -y redis-server';

export interface RedisHandle {
  url: string;
  /** True when this process started the server (and `stop` will end it). */
  private: boolean;
  stop(): Promise<void>;
}

export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface StartOptions {
  /** Extra `redis-server` arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  port?: number;
  /** Directory for AOF/RDB files; a temporary one (removed on stop) by default. */
  dir?: string;
}

export async function startRedisServer(
  options: StartOptions = {},
): Promise<RedisHandle & { port: number; dir: string; process: ChildProcess }> {
  if (!hasRedisServer()) throw new Error(INSTALL_HINT);
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'wa-bulk-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 200))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    dir,
    process: child,
    private: true,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** REDIS_URL when it answers, else a private server. */
export async function ensureRedis(url: string | undefined): Promise<RedisHandle> {
  if (url && (await redisAnswers(url))) return { url, private: false, stop: async () => {} };
  return startRedisServer();
}

export interface ClusterHandle {
  nodes: Array<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/** Whether redis-server and redis-cli here can make a Redis Cluster. */
export function hasClusterSupport(): boolean {
  return hasRedisServer() && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A private Redis Cluster of `masters` nodes (no replicas) on free loopback ports, for tests. */
export async function startRedisCluster(masters = 3): Promise<ClusterHandle> {
  const servers: Array<Awaited<ReturnType<typeof startRedisServer>>> = [];
  for (let i = 0; i < masters; i++)
    servers.push(
      await startRedisServer({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${i}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    );
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) {
    await Promise.all(servers.map((s) => s.stop()));
    throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
  }
  const deadline = Date.now() + 20_000;
  for (const server of servers) {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      while (!/cluster_state:ok/.test(await client.cluster('INFO'))) {
        if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok within 20 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      client.disconnect();
    }
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
