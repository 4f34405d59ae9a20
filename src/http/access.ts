import type { NextFunction, Request, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { Counter, type Registry } from 'prom-client';
import { RedisStore } from 'rate-limit-redis';
import { AuditLog, type AuditInput } from '../access/audit.js';
import { ApiKeys } from '../access/keys.js';
import { allows, rolesFor, type Role } from '../access/roles.js';
import { resultTtlSeconds } from '../config.js';
import type { DashboardDeps } from './deps.js';
import { redisCommand } from './rate-limit-store.js';
import { routeOf } from './route-roles.js';
import { sourceOf, trustedProxiesOf } from './callback-sources.js';
import { basicAuth, cameThroughProxy, isLoopbackHostHeader, loginThrottle, loopbackHostsOnly } from './security.js';

/**
 * Who may do what on the dashboard, and the record of what they did.
 *
 * - `Authorization: Bearer <key>`: an API key (src/access/keys.ts), read from Redis on every request, so a
 *   revoked or expired key is refused at once by every dashboard process; 401 for a key that is not a live
 *   one (counted with failed logins, by client: security.ts's loginThrottle), then its per-key rate limit (429
 *   with Retry-After), then its role against the route's need
 *   (route-roles.ts; 403 naming the roles that may).
 * - Otherwise the operator: Basic auth with DASHBOARD_USER/DASHBOARD_PASSWORD, or, without a password, any
 *   request addressed to a loopback host (security.ts); the operator is admin.
 * Without a password the loopback rule holds for keys too: a key never opens the dashboard to other hosts.
 * Every changing request is written to the audit log once answered, and so are refused credentials.
 */

export interface Actor {
  name: string;
  role: Role;
  kind: 'key' | 'dashboard';
  /** Requests a second, for a key. */
  rate?: number;
}

const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function actorOf(res: Response): Actor | undefined {
  return res.locals.actor as Actor | undefined;
}

export function accessControl(deps: DashboardDeps) {
  const { config, log } = deps;
  const keys = new ApiKeys(deps.redis, deps.keys);
  const audit = new AuditLog(deps.redis, deps.keys, resultTtlSeconds(config) * 1000);
  // The client: the socket's address, or the one the proxies of DASHBOARD_TRUSTED_PROXIES forwarded for.
  const trusted = trustedProxiesOf(config.DASHBOARD_TRUSTED_PROXIES);
  const clientOf = (req: Request) => sourceOf(req, trusted);
  // Refused credentials, a login's or an API key's, counted together by client.
  const throttle = loginThrottle(clientOf, log);
  const login = config.DASHBOARD_PASSWORD
    ? basicAuth(config.DASHBOARD_USER, config.DASHBOARD_PASSWORD, throttle)
    : undefined;
  const requests = new Counter({
    name: 'wa_bulk_api_key_requests_total',
    help: 'API requests by API key name (this dashboard process), refused ones included',
    labelNames: ['key'],
    registers: [],
  });
  const limited = new Counter({
    name: 'wa_bulk_api_key_limited_total',
    help: "API requests refused with 429 for going over their key's rate (this dashboard process)",
    labelNames: ['key'],
    registers: [],
  });
  const remember = (input: AuditInput) =>
    void audit.record(input).catch((error: Error) => log.warn({ err: error.message }, 'audit: entry not recorded'));
  const refused = (input: AuditInput) =>
    void audit.refused(input).catch((error: Error) => log.warn({ err: error.message }, 'audit: entry not recorded'));

  // Counted in Redis, so that the limit holds for a key across every dashboard process.
  const limiter = rateLimit({
    windowMs: 1000,
    limit: (_req, res) => actorOf(res)?.rate ?? config.API_KEY_RATE,
    keyGenerator: (_req, res) => actorOf(res)?.name ?? '',
    store: new RedisStore({ sendCommand: redisCommand(deps.redis), prefix: deps.keys.rateLimit }),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    validate: { xForwardedForHeader: false },
    handler: (req, res) => {
      const name = actorOf(res)?.name ?? '';
      limited.inc({ key: name });
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now()) - Date.now()) / 1000));
      res
        .set('Retry-After', String(seconds))
        .status(429)
        .json({ error: `too many requests for the key "${name}"; try again in ${seconds} s` });
    },
  });

  /** Once answered, a changing request goes to the audit log with its outcome. */
  const auditWhenDone = (req: Request, res: Response, actor: Actor) => {
    if (!CHANGING.has(req.method)) return;
    const route = routeOf(req.method, req.path);
    const json = res.json.bind(res);
    let answer: unknown;
    res.json = (body: unknown) => {
      answer = body;
      return json(body);
    };
    res.on('finish', () => {
      const params: Record<string, unknown> = {};
      if (Object.keys(req.query).length > 0) params.query = req.query;
      if (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)) params.body = req.body;
      // What the answer counted (accepted, skipped_now, added…) or the error it gave; never its records.
      if (answer !== null && typeof answer === 'object')
        for (const [k, v] of Object.entries(answer))
          if (typeof v === 'number' || (k === 'error' && typeof v === 'string')) params[k] = v;
      const status = res.statusCode;
      remember({
        actor: actor.name,
        action: route?.row.action ?? `http.${req.method.toLowerCase()}`,
        // A route without an id in its path that makes something (a follow-up rule, a webhook endpoint)
        // names it in its answer.
        target: Object.values(route?.params ?? {})[0] ?? createdId(answer) ?? (route ? null : req.path),
        params,
        outcome: status < 400 ? 'ok' : `${status < 500 ? 'refused' : 'failed'} ${status}`,
        ip: clientOf(req),
      });
    });
  };

  const withKey = async (req: Request, res: Response, next: NextFunction, presented: string) => {
    // A client over the limit of refused credentials is refused whatever key it presents, a live one included.
    if (await throttle.locked(req)) {
      refused({
        actor: 'unknown',
        action: 'auth.refused',
        target: `${req.method} ${req.path}`.slice(0, 200),
        params: { scheme: 'bearer', reason: 'throttled' },
        outcome: 'refused 429',
        ip: clientOf(req),
      });
      return throttle.refuse(res);
    }
    const verdict = await keys.verify(presented);
    if (!verdict.ok) {
      res.on('finish', () =>
        refused({
          actor: verdict.name ?? 'unknown',
          action: 'auth.refused',
          target: `${req.method} ${req.path}`.slice(0, 200),
          params: { scheme: 'bearer', reason: verdict.reason },
          outcome: `refused ${res.statusCode}`,
          ip: clientOf(req),
        }),
      );
      const why = verdict.reason === 'revoked' || verdict.reason === 'expired' ? `${verdict.reason} ` : 'unknown ';
      // Counted with failed logins: 401, or 429 once the client has had too many refused.
      await throttle.fail(req, res, () =>
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer realm="wa-bulk", error="invalid_token"')
          .json({ error: `${why}API key` }),
      );
      return;
    }
    const actor: Actor = {
      name: verdict.key.name,
      role: verdict.key.role,
      kind: 'key',
      ...(verdict.key.rate !== null && { rate: verdict.key.rate }),
    };
    res.locals.actor = actor;
    requests.inc({ key: actor.name });
    await limiter(req, res, (error?: unknown) => {
      if (error) return next(error);
      const need = routeOf(req.method, req.path)?.row.need ?? 'admin';
      if (!allows(actor.role, need)) {
        refused({
          actor: actor.name,
          action: 'auth.forbidden',
          target: `${req.method} ${req.path}`.slice(0, 200),
          params: { role: actor.role, needs: rolesFor(need) },
          outcome: 'refused 403',
          ip: clientOf(req),
        });
        res.status(403).json({
          error: `the key "${actor.name}" has the role ${actor.role}; ${req.method} ${req.path} needs the role ${rolesFor(need).join(' or ')}`,
        });
        return;
      }
      auditWhenDone(req, res, actor);
      next();
    });
  };

  const operator = (req: Request, res: Response, next: NextFunction) => {
    const actor: Actor = { name: 'dashboard', role: 'admin', kind: 'dashboard' };
    res.locals.actor = actor;
    auditWhenDone(req, res, actor);
    next();
  };

  const middleware = async (req: Request, res: Response, next: NextFunction) => {
    // Without a password nothing answers but requests addressed to this machine, keys or not.
    if (!login && !(isLoopbackHostHeader(req.headers.host) && !cameThroughProxy(req)))
      return loopbackHostsOnly(req, res, next);
    const header = req.headers.authorization ?? '';
    // The scheme is case-insensitive (RFC 9110).
    if (/^bearer\s/i.test(header)) return withKey(req, res, next, header.slice(7).trim());
    if (!login) return operator(req, res, next);
    if (/^basic\s+\S/i.test(header))
      res.on('finish', () => {
        if (res.statusCode === 401 || res.statusCode === 429)
          refused({
            actor: 'unknown',
            action: 'auth.refused',
            target: `${req.method} ${req.path}`.slice(0, 200),
            params: { scheme: 'basic' },
            outcome: `refused ${res.statusCode}`,
            ip: clientOf(req),
          });
      });
    await login(req, res, () => operator(req, res, next));
  };

  return {
    middleware,
    audit,
    keys,
    /** Adds the per-key counters to /metrics. */
    register(registry: Registry): void {
      registry.registerMetric(requests);
      registry.registerMetric(limited);
    },
  };
}
export type AccessControl = ReturnType<typeof accessControl>;

/** The `id` an answer gives for what a request made, if it gives one. */
function createdId(answer: unknown): string | undefined {
  const id = answer !== null && typeof answer === 'object' ? (answer as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id !== '' ? id.slice(0, 200) : undefined;
}
