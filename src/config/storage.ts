import { z } from 'zod';
import { int, url } from './fields.js';

/** Where wa-bulk keeps its state: Redis (the queues, the ledger, the change feed) and the long-term ledger. */
export const storageVariables = {
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** A Redis Cluster: its nodes, host:port,… (any of them; the client learns the rest). */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((value, ctx) => {
      const nodes = value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => /^([^:\s]+):(\d{1,5})$/.exec(part));
      if (nodes.length === 0 || nodes.some((m) => m === null || Number(m[2]) > 65_535)) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected host:port pairs separated by commas (e.g. 10.0.0.1:6379,10.0.0.2:6379)',
        });
        return z.NEVER;
      }
      return nodes.map((m) => ({ host: (m as RegExpExecArray)[1] as string, port: Number((m as RegExpExecArray)[2]) }));
    })
    .optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]+$/, { error: 'expected letters, digits, "_", "-", "." or "{…}" hash tags' })
    .default('wa-bulk'),
  RESULT_TTL_DAYS: int(1, 3650).default(30),
  /** The long-term ledger (src/archive/): settled records go to PostgreSQL, Redis keeps them HOT_TTL_SECONDS. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'expected a postgres:// or postgresql:// URL' })
    .optional(),
  HOT_TTL_SECONDS: int(1, 315_360_000).default(259_200),
  /** Whether this process drains the archive stream into PostgreSQL (with DATABASE_URL). */
  ARCHIVER: z.enum(['on', 'off'], { error: 'expected "on" or "off"' }).default('on'),
  /** The change feed's cap: past it its oldest entries go, whether every reader has read them or not. */
  FEED_MAX_ENTRIES: int(1000, 1_000_000_000).default(2_000_000),
};
