import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ingestRoute } from '../../producers/http-ingest.js';
import type { Config } from '../config.js';
import { campaignId, noCampaign, noMessage, requestId } from '../messages/ids.js';
import { isConnectionError, pingWithin } from '../redis/health.js';
import { addCallbackRefused } from '../status/fleet-stats.js';
import { UsageError } from '../usage-error.js';
import { mountBoard } from './board.js';
import { unknownRowRoutes } from './callbacks.js';
import { callbackSources } from './callback-sources.js';
import { campaignRoutes, campaignView } from './campaign-routes.js';
import { messageRoutes } from './message-routes.js';
import { suppressionRoutes } from './suppression-routes.js';
import { followupRoutes } from './followup-routes.js';
import type { DashboardDeps } from './deps.js';
import { createMetrics } from './metrics.js';
import { assertListenable, boardWritesSameSiteOnly, loopbackHostsOnly, safeHeaders } from './security.js';
import { accessControl } from './access.js';
import { accessRoutes } from './access-routes.js';
import { openApiRoutes } from './openapi-routes.js';
import { webhookRoutes } from './webhook-routes.js';

/**
 * The app behind `wa-bulk dashboard`: /healthz, the callback receiver, then (authenticated, see
 * security.ts) Bull Board, /metrics, the campaigns page and API, the HTTP producer and the read routes.
 */
export function createDashboardApp(deps: DashboardDeps): express.Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(safeHeaders);
  if (deps.inspect) app.use(deps.inspect);

  // Redis reachable, and the connection's history (when it went down, its last error) for the operator.
  const health = async (): Promise<{ up: boolean; detail: Record<string, unknown> }> => {
    const redis = deps.health.snapshot();
    try {
      if (!redis.connected) throw new Error(redis.last_error ?? 'connection lost');
      await pingWithin(deps.redis);
      return { up: true, detail: { status: 'ok', redis } };
    } catch (error) {
      const detail = {
        status: 'unavailable',
        error: `Redis: ${(error as Error).message}`,
        redis: { ...redis, connected: false },
      };
      return { up: false, detail };
    }
  };
  // Public (load balancers, orchestrators): up or down only; the details name internal addresses.
  app.get('/healthz', async (_req, res) => {
    const { up } = await health();
    if (!up) res.set('Retry-After', '5');
    res.status(up ? 200 : 503).json({ status: up ? 'ok' : 'unavailable' });
  });

  // Delivery callbacks come from EngageLab, with no credentials and our public host name: a token in their
  // URL is their secret; without one, they are taken on loopback only, as everything else without a password.
  if (!config.DASHBOARD_PASSWORD && !config.CALLBACK_TOKEN) app.use('/callbacks', loopbackHostsOnly);
  if (config.CALLBACK_ALLOW_FROM) {
    const refused = () => void addCallbackRefused(deps.redis, deps.keys.metrics, 'source').catch(() => {});
    app.use('/callbacks', callbackSources(config, log, refused));
  }
  deps.publicRoutes?.(app);
  // Who is asking (a key, the operator's login, loopback), what its role lets it do, and the audit log.
  const access = accessControl(deps);
  app.use(access.middleware);
  app.use('/queues', boardWritesSameSiteOnly);

  mountBoard(app, deps);
  app.get('/', (_req, res) => res.redirect('/campaigns'));

  const registry = createMetrics(deps);
  access.register(registry);
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', registry.contentType).send(await registry.metrics());
  });

  ingestRoute(app, deps);
  campaignRoutes(app, deps);
  messageRoutes(app, deps);
  suppressionRoutes(app, deps);
  followupRoutes(app, deps);
  accessRoutes(app, deps, access);
  webhookRoutes(app, deps);
  unknownRowRoutes(app, deps);
  openApiRoutes(app);

  app.get('/api/health', async (_req, res) => {
    const { up, detail } = await health();
    if (!up) res.set('Retry-After', '5');
    res.status(up ? 200 : 503).json(detail);
  });

  app.get('/api/campaigns/:id', async (req, res) => {
    const id = campaignId(req.params.id, 'campaign id');
    const view = await campaignView(deps, id);
    if (!view) res.status(404).json({ error: noCampaign(id, '"GET /api/campaigns"') });
    else res.json(view);
  });

  app.get('/api/messages/:requestId', async (req, res) => {
    const id = requestId(req.params.requestId, 'request_id');
    const record = await deps.ledger.get(id);
    if (!record) res.status(404).json({ error: noMessage(id) });
    else res.json(record);
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // Express 5 passes rejected promises of async handlers here.
  app.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof UsageError) {
      // A bad identifier or parameter in the request.
      if (!res.headersSent) res.status(400).json({ error: error.message });
      return;
    }
    if (isConnectionError(error) || !deps.health.connected) {
      // Redis is away: say so, as /healthz does; the connection is retried with a backoff meanwhile.
      if (!res.headersSent)
        res.status(503).set('Retry-After', '5').json({ error: 'Redis is unreachable; try again shortly' });
      return;
    }
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500)
      log.error({ method: req.method, route: routeOf(req), status, err: error }, 'dashboard request failed');
    if (!res.headersSent) res.status(status).json({ error: status === 500 ? 'internal error' : error.message });
  });
  return app;
}

/**
 * Where a failed request went, for its log line: the matched route's pattern (`/api/campaigns/:id`), never the
 * path itself, whose segments may carry a callback's token, and never the query string, which may carry
 * filters; the path with its segments after the first two elided when no route matched.
 */
function routeOf(req: Request): string {
  const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (pattern !== undefined) return `${req.baseUrl}${String(pattern)}`;
  const segments = req.path.split('/');
  return segments.length > 3 ? `${segments.slice(0, 3).join('/')}/…` : req.path;
}

/** Refuses a non-loopback host without a password, then listens. */
export async function listen(app: express.Express, config: Config): Promise<{ server: Server; url: string }> {
  assertListenable(config);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.DASHBOARD_PORT, config.DASHBOARD_HOST, (error?: Error) =>
      error ? reject(error) : resolve(s),
    );
  });
  server.requestTimeout = 120_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `http://${host}:${address.port}` };
}
