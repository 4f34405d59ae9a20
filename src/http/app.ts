import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { Queue } from 'bullmq';
import type { AddressInfo } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { enqueue, scan, type SourceItem } from '../../producers/enqueue.js';
import { PreflightAuthError, preflightFromConfig, type Preflight } from '../preflight/preflight.js';
import { itemsOfArray, readJsonl } from '../../producers/jsonl-reader.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { CAMPAIGN_ID } from '../messages/ids.js';
import { REQUEST_ID } from '../messages/ids.js';
import { DEFAULT_LANE, laneQueueName, type SendJobData, openQueue } from '../queue.js';
import { isConnectionError, type RedisHealth } from '../redis/health.js';
import { collectStatus, type StatusSources } from '../status/status.js';
import { CampaignOptionError, QUERY_NAMES, campaignOptions, type CampaignOptions } from '../campaigns/options.js';
import { DeadQueueAdapter, SendQueueAdapter } from './board.js';
import { campaignRoutes } from './campaign-routes.js';
import { createMetrics } from './metrics.js';

/**
 * `wa-bulk dashboard`: Bull Board for both queues, /metrics, /healthz and the HTTP producer API.
 *
 * Security: with DASHBOARD_PASSWORD set, everything but /healthz needs Basic auth
 * (compared in constant time); without it the server only starts on a loopback address and answers only
 * requests whose Host is a loopback name, so a web page elsewhere cannot reach it through DNS rebinding.
 */

export const MAX_BODY_BYTES = 16 * 1024 * 1024;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0] ?? '';
}

const digest = (text: string) => createHash('sha256').update(text).digest();

export function basicAuth(user: string, password: string) {
  const expected = digest(`${user}:${password}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    // Hash both sides so the comparison takes the same time whatever the lengths.
    if (given && timingSafeEqual(digest(given), expected)) return next();
    res.set('WWW-Authenticate', 'Basic realm="wa-bulk", charset="UTF-8"').status(401).json({ error: 'authentication required' });
  };
}

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

/** Passes a request body through, failing once it is larger than `limit` bytes. */
function limited(stream: Readable, limit: number): Readable {
  let size = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) callback(new BodyTooLarge(`request body is larger than ${limit} bytes; split it into several requests`));
      else callback(null, chunk);
    },
  });
  stream.on('error', (error) => guard.destroy(error));
  return stream.pipe(guard);
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface DashboardDeps extends StatusSources {
  config: Config;
  log: Logger;
  health: RedisHealth;
  /** Extra routes (delivery callbacks) mounted before authentication. */
  publicRoutes?: (app: express.Express) => void;
  /** More queues to show in Bull Board. */
  extraQueues?: Queue[];
  /** Calls back with the fleet's sender lanes, now and whenever they change (new lanes join Bull Board). */
  onLanes?: (listener: (lanes: string[]) => void) => void;
}

export function createDashboardApp(deps: DashboardDeps): express.Express {
  const { config, log } = deps;
  const app = express();
  const laneQueues = new Map<string, Queue<SendJobData>>();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', async (_req, res) => {
    const redis = deps.health.snapshot();
    try {
      if (!redis.connected) throw new Error(redis.last_error ?? 'connection lost');
      await deps.redis.ping();
      res.json({ status: 'ok', redis });
    } catch (error) {
      res.status(503).json({ status: 'unavailable', error: `Redis: ${(error as Error).message}`, redis: { ...redis, connected: false } });
    }
  });

  // Delivery callbacks come from EngageLab, with no credentials and our public host name.
  deps.publicRoutes?.(app);
  if (!config.DASHBOARD_PASSWORD) {
    app.use((req, res, next) => {
      if (isLoopback(hostName(req.headers.host))) return next();
      res.status(403).json({ error: 'this dashboard has no DASHBOARD_PASSWORD and answers only on localhost' });
    });
  }
  if (config.DASHBOARD_PASSWORD) app.use(basicAuth(config.DASHBOARD_USER, config.DASHBOARD_PASSWORD));

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  const laneAdapter = (lane: string, queue: Queue<SendJobData>) => new SendQueueAdapter(queue, deps.redis, deps.keys, lane, config);
  const bullBoard = createBullBoard({
    queues: [
      laneAdapter(DEFAULT_LANE, deps.send),
      new DeadQueueAdapter(deps.dead),
      ...(deps.extraQueues ?? []).map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    ],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'wa-bulk' } },
  });
  // A sender lane seen for the first time shows up within a few seconds, without a restart.
  deps.onLanes?.((lanes) => {
    for (const lane of lanes) if (lane !== DEFAULT_LANE && !laneQueues.has(lane)) {
      const queue = openQueue<SendJobData>(deps.redis, config.QUEUE_PREFIX, laneQueueName(lane));
      laneQueues.set(lane, queue);
      bullBoard.addQueue(laneAdapter(lane, queue));
    }
  });
  app.use('/queues', board.getRouter());
  app.get('/', (_req, res) => res.redirect('/campaigns'));

  const registry = createMetrics(deps);
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  app.post('/api/campaigns/:id/messages', async (req, res) => {
    const campaign = req.params.id;
    if (!CAMPAIGN_ID.test(campaign)) {
      res.status(400).json({ error: 'campaign id: expected 1-64 letters, digits, "_" or "-"' });
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      res.status(413).json({ error: `request body is larger than ${MAX_BODY_BYTES} bytes; split it into several requests` });
      return;
    }
    let control: CampaignOptions;
    let notes: string[];
    try {
      const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
      ({ options: control, notes } = campaignOptions({ at: q('at'), sendWindow: q('send_window'), expiresIn: q('expires_in'), expiresAt: q('expires_at'), priority: q('priority') }, QUERY_NAMES));
    } catch (error) {
      if (!(error instanceof CampaignOptionError)) throw error;
      res.status(400).json({ error: error.message });
      return;
    }
    const withPreflight = req.query.preflight !== 'false';
    let items: Iterable<SourceItem> | AsyncIterable<SourceItem>;
    try {
      if (type === 'application/json') {
        const text = await readAll(limited(req, MAX_BODY_BYTES));
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          res.status(400).json({ error: `body is not valid JSON (${(error as Error).message})` });
          return;
        }
        if (!Array.isArray(value)) {
          res.status(400).json({ error: 'body must be a JSON array of messages (or NDJSON with Content-Type application/x-ndjson)' });
          return;
        }
        items = [...itemsOfArray(value)];
      } else if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') {
        items = readJsonl(limited(req, MAX_BODY_BYTES));
        // Preflight reads the messages twice: keep them (the body is at most MAX_BODY_BYTES).
        if (withPreflight) {
          const kept: SourceItem[] = [];
          for await (const item of items) kept.push(item);
          items = kept;
        }
      } else {
        res.status(415).json({ error: 'Content-Type must be application/json (an array) or application/x-ndjson (one message per line)' });
        return;
      }
      let preflight: Preflight | undefined;
      if (withPreflight) {
        preflight = preflightFromConfig(config, false);
        await scan(items as Iterable<SourceItem>, preflight);
      }
      const summary = await enqueue(items, { campaign, ledger: deps.ledger, queue: deps.send, waFrom: config.WA_FROM, control, preflight });
      if (preflight && preflight.notes.length > 0) notes.push(...preflight.notes);
      res.json(notes.length > 0 ? { ...summary, notes } : summary);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        res.status(413).json({ error: error.message });
        return;
      }
      if (error instanceof PreflightAuthError) {
        res.status(502).json({ error: error.message });
        return;
      }
      throw error;
    }
  });

  campaignRoutes(app, deps);

  app.get('/api/campaigns/:id', async (req, res) => {
    if (!CAMPAIGN_ID.test(req.params.id)) {
      res.status(400).json({ error: 'campaign id: expected 1-64 letters, digits, "_" or "-"' });
      return;
    }
    const status = await collectStatus(deps, req.params.id);
    if (!status.campaign) {
      res.status(404).json({ error: `no campaign "${req.params.id}"` });
      return;
    }
    // Paused when the campaign is, or the whole fleet: the reason says which.
    const c = status.campaign;
    res.json({ ...c, paused: c.state === 'paused' || status.paused, pause_reason: c.pause_reason ?? status.pause_reason });
  });

  app.get('/api/messages/:requestId', async (req, res) => {
    if (!REQUEST_ID.test(req.params.requestId)) {
      res.status(400).json({ error: 'request_id: expected 1-128 characters of letters, digits and _ . : @ = + -' });
      return;
    }
    const record = await deps.ledger.get(req.params.requestId);
    if (!record) res.status(404).json({ error: `no message with request_id "${req.params.requestId}"` });
    else res.json(record);
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // Express 5 passes rejected promises of async handlers here.
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (isConnectionError(error) || !deps.health.connected) {
      // Redis is away: say so, as /healthz does; the connection is retried with a backoff meanwhile.
      if (!res.headersSent) res.status(503).set('Retry-After', '5').json({ error: 'Redis is unreachable; try again shortly' });
      return;
    }
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) log.error({ err: error.message }, 'dashboard request failed');
    if (!res.headersSent) res.status(status).json({ error: status === 500 ? 'internal error' : error.message });
  });
  return app;
}

/** Without a password the dashboard serves loopback only, so that nobody else can reach it unauthenticated. */
export function assertListenable(config: Config): void {
  if (!config.DASHBOARD_PASSWORD && !isLoopback(config.DASHBOARD_HOST)) {
    throw new DashboardConfigError(
      `DASHBOARD_HOST: "${config.DASHBOARD_HOST}" is not a loopback address; set DASHBOARD_PASSWORD to serve the dashboard on other hosts`,
    );
  }
}

/** Refuses a non-loopback host without a password, then listens. */
export async function listen(app: express.Express, config: Config): Promise<{ server: Server; url: string }> {
  assertListenable(config);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.DASHBOARD_PORT, config.DASHBOARD_HOST, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  server.requestTimeout = 120_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}
