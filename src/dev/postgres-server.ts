import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.js';

/**
 * A private, throwaway PostgreSQL for the tests and the benchmark, started from the distribution's own
 * binaries (`initdb` + `postgres`) on a free loopback port, as src/dev/redis-server.ts does for Redis. PostgreSQL
 * refuses to run as root: when this process is root the server runs as the `postgres` user the Debian
 * package creates, on a data directory that user owns.
 */

export const POSTGRES_INSTALL_HINT =
  'PostgreSQL is needed: set DATABASE_URL to a running PostgreSQL, or install it with: apt-get install -y postgresql';

export interface PostgresHandle {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** Stops the server (fast shutdown); `start()` starts it again on the same port and data. */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory holding initdb and postgres: PATH first, then Debian's versioned directories. */
export function postgresBinDir(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return dirname(which.stdout.trim());
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

export function hasPostgres(): boolean {
  return postgresBinDir() !== undefined;
}

function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error('PostgreSQL cannot run as root and there is no postgres user to run it as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function startPostgresServer(): Promise<PostgresHandle> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(POSTGRES_INSTALL_HINT);
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'wa-bulk-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid as number);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'wa_bulk', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'],
    { encoding: 'utf8', ...user },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(init.stderr || init.stdout).trim()}`);
  }
  // Tests only: no durability, so nothing waits on fsync.
  writeFileSync(join(data, 'postgresql.auto.conf'), 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n');
  const port = await freePort();
  const url = `postgres://wa_bulk@127.0.0.1:${port}/postgres`;
  let child!: ChildProcess;
  let exited!: Promise<void>;
  const start = async () => {
    child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...user,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    while (!(await postgresAnswers(url))) {
      if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}: ${stderr.trim()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not answer on port ${port} within 20 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown: open sessions are ended
      await exited;
    }
  };
  await start();
  return {
    url,
    port,
    dir,
    get process() {
      return child;
    },
    halt,
    start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
