import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

/**
 * The state of a long-running process's Redis connections, and the one place their errors are logged.
 *
 * ioredis reconnects by itself with a backoff (see the connection factories in queue.ts), and every
 * BullMQ Queue and Worker re-emits each failed command and each failed reconnect as an `error` event: left
 * as they are, an unreachable Redis prints hundreds of lines (stack traces from Queues without a listener,
 * the same "worker error" twice per attempt). Here a lost connection is one line, its return is one line,
 * and any other error is logged once and then at most once a minute with the number of repeats.
 */

/** Errors that mean "Redis cannot be reached", not "Redis refused this command". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
const CONNECTION_MESSAGES =
  /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Reached the max retries per request limit|Socket closed unexpectedly/i;

/** A Redis error in words an operator can act on (a MOVED answer means REDIS_URL names a cluster node). */
export function explainRedisError(message: string): string {
  if (/^MOVED \d+ /.test(message))
    return `${message}: REDIS_URL points at a node of a Redis Cluster; set REDIS_CLUSTER_NODES (and a {hash tag} QUEUE_PREFIX) instead`;
  return message;
}

export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (e?.name === 'MaxRetriesPerRequestError') return true;
  return typeof e?.message === 'string' && CONNECTION_MESSAGES.test(e.message);
}

const REPEAT_WINDOW_MS = 60_000;
const CLOSED = 'connection closed';

export interface HealthSnapshot {
  connected: boolean;
  /** ISO time the connection was lost, while it is down. */
  down_since: string | null;
  last_error: string | null;
  /** Times this process lost its Redis connection since it started. */
  disconnects: number;
}

export class RedisHealth {
  private readonly clients: Redis[] = [];
  private down: { since: number; error: string } | undefined;
  private stopping = false;
  private readonly repeats = new Map<string, { loggedAt: number; suppressed: number }>();
  disconnects = 0;

  constructor(
    private readonly log: Logger,
    /** Called when the connection is back after a loss (to count it in the fleet's metrics, in Redis). */
    private readonly onBack?: () => void,
  ) {}

  /** Follows an ioredis client of this process. Returns it, for chaining at creation. */
  watch<T extends Redis>(client: T): T {
    this.clients.push(client);
    client.on('error', (error: Error) => this.error(error));
    client.on('close', () => {
      if (!this.stopping) this.lost(CLOSED);
    });
    client.on('ready', () => this.readyAgain());
    return client;
  }

  /** Takes the `error` events of a BullMQ Queue or Worker (which re-emits its connections' errors). */
  absorb(emitter: { on(event: 'error', listener: (error: Error) => void): unknown }, what: string): void {
    emitter.on('error', (error: Error) => this.error(error, what));
  }

  get connected(): boolean {
    return this.down === undefined;
  }

  snapshot(): HealthSnapshot {
    return {
      connected: this.connected,
      down_since: this.down ? new Date(this.down.since).toISOString() : null,
      last_error: this.down?.error ?? null,
      disconnects: this.disconnects,
    };
  }

  /** Shutting down: closed connections are expected from now on. */
  stop(): void {
    this.stopping = true;
  }

  error(error: Error, what = 'Redis'): void {
    if (this.stopping) return;
    if (isConnectionError(error)) {
      this.lost(error.message);
      return;
    }
    const key = `${what}\0${error.message}`;
    const now = Date.now();
    const seen = this.repeats.get(key);
    if (seen && now - seen.loggedAt < REPEAT_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    this.repeats.set(key, { loggedAt: now, suppressed: 0 });
    if (this.repeats.size > 100) this.repeats.delete(this.repeats.keys().next().value as string);
    this.log.error(
      { err: explainRedisError(error.message), ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) },
      `${what} error`,
    );
  }

  private lost(reason: string): void {
    if (this.down) {
      // Keep the most telling reason: a socket error says more than the close that follows it.
      if (reason !== CLOSED) this.down.error = reason;
      return;
    }
    this.down = { since: Date.now(), error: reason };
    this.disconnects++;
    this.log.warn({ err: reason }, 'Redis connection lost; retrying with backoff');
  }

  private readyAgain(): void {
    if (!this.down || !this.clients.every((client) => client.status === 'ready')) return;
    const downMs = Date.now() - this.down.since;
    this.down = undefined;
    this.repeats.clear();
    this.log.info({ down_ms: downMs }, `Redis connection back after ${(downMs / 1000).toFixed(1)} s`);
    this.onBack?.();
  }
}

/**
 * How long a health check waits for Redis's PING: a Redis that holds commands (CLIENT PAUSE, a long blocking
 * script, a full network buffer) is down for the checker, which must hear so before its own timeout.
 */
export const HEALTH_PING_TIMEOUT_MS = 1500;

/** PING, failing after `timeoutMs` without an answer (the command itself is left to finish or fail). */
export async function pingWithin(redis: Pick<Redis, 'ping'>, timeoutMs = HEALTH_PING_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.ping(), late]);
  } finally {
    clearTimeout(timer);
  }
}
