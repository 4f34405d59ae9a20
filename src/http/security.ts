import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

/**
 * The dashboard's guards. With DASHBOARD_PASSWORD set, everything but /healthz and the callback receiver
 * needs Basic auth (compared in constant time); without it the server only starts on a loopback address and
 * answers only requests whose Host is a loopback name, so a web page elsewhere cannot reach it through DNS
 * rebinding. Changing routes take only JSON from the same origin (sameOrigin).
 */

export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
}

/**
 * A host name or address that can only mean this machine: exactly `localhost`, an IPv4 address in 127/8
 * written as four decimal numbers, or the IPv6 loopback (`::1`, `[::1]`). Nothing is matched by prefix: a DNS
 * name such as `127.0.0.1.example.test` is someone else's name, whatever it resolves to now (DNS rebinding).
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return ipaddr.IPv4.isValidFourPartDecimal(host) && ipaddr.IPv4.parse(host).range() === 'loopback';
}

/** A Host header that names this machine: a loopback host and, optionally, a port (digits only). */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  const match = /^(\[::1\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header ?? '');
  return match !== null && isLoopback(match[1] as string);
}

/** Headers a reverse proxy adds: a request that has them did not come from this machine's own browser. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip'];

export function cameThroughProxy(req: Request): boolean {
  return PROXY_HEADERS.some((name) => req.headers[name] !== undefined);
}

/**
 * Without a password: answers only requests addressed to a loopback host that did not come through a proxy
 * (a proxy would make the dashboard reachable by others without any credential).
 */
export function loopbackHostsOnly(req: Request, res: Response, next: NextFunction): void {
  if (isLoopbackHostHeader(req.headers.host) && !cameThroughProxy(req)) return next();
  res.status(403).json({
    error: cameThroughProxy(req)
      ? 'this dashboard has no DASHBOARD_PASSWORD: behind a proxy it needs one'
      : 'this dashboard has no DASHBOARD_PASSWORD and answers only on localhost',
  });
}

/**
 * Headers of every answer: no page of the dashboard may be framed by another site (a click in a hidden frame
 * would act with the operator's credentials), answers are never sniffed into another type, and answers that
 * carry records (phone numbers) are not cached or sent on as referrers. Pages load and fetch from the
 * dashboard only: Bull Board's page links a web font stylesheet on another site, which would tell that site
 * who opens the dashboard and when (its own stylesheet and fonts are served here; the system font is used).
 * Inline styles stay allowed (the campaigns page is one self-contained document); scripts are left as they were.
 */
const CONTENT_SECURITY_POLICY = [
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "object-src 'none'",
  "form-action 'self'",
].join('; ');

export function safeHeaders(req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  if (req.path.startsWith('/api/') || req.path === '/metrics') res.set('Cache-Control', 'no-store');
  next();
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Refused credentials a client may present in LOGIN_WINDOW_MS before it is refused until the window passes. */
export const LOGIN_FAILURES_MAX = 10;
export const LOGIN_WINDOW_MS = 60_000;

/**
 * The count of refused credentials (a wrong login, an API key that is not a live one) by client, in this
 * process (express-rate-limit's memory store). A client is its socket's address or, behind the proxies that
 * DASHBOARD_TRUSTED_PROXIES names, the address they forwarded the request for (`clientOf`): without them every
 * client of a proxy would share its address, and anyone could lock the operator out. A client that reaches the
 * limit is logged once, by address and never with what it tried, and refused whatever it sends until the window
 * passes.
 */
export interface LoginThrottle {
  /** Whether the client is over the limit now. */
  locked(req: Request): Promise<boolean>;
  /** Counts one refused credential: `deny` answers it, unless this one is over the limit (then 429). */
  fail(req: Request, res: Response, deny: () => void): Promise<void>;
  /** The answer to a client over the limit. */
  refuse(res: Response): void;
}

export function loginThrottle(clientOf: (req: Request) => string, log?: Logger): LoginThrottle {
  const keyOf = (req: Request) => ipKeyGenerator(clientOf(req));
  const refuse = (res: Response) => {
    res.status(429).json({ error: 'too many refused credentials; try again in a minute' });
  };
  // Counts refused credentials only: fail() calls it when one is refused, never otherwise.
  const failures = rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    limit: LOGIN_FAILURES_MAX,
    keyGenerator: keyOf,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // The client is found by clientOf, from the proxies the operator named, not by Express's `trust proxy`.
    validate: { xForwardedForHeader: false },
    handler: (req, res) => {
      // Logged once a window per client: at its first refusal.
      if ((req as Request & { rateLimit?: { used: number } }).rateLimit?.used === LOGIN_FAILURES_MAX + 1)
        log?.warn(
          { client: clientOf(req) },
          `dashboard: ${LOGIN_FAILURES_MAX} refused credentials in a minute from one client; refusing it for a while`,
        );
      refuse(res);
    },
  });
  return {
    async locked(req) {
      const seen = await failures.getKey(keyOf(req));
      return Boolean(seen && seen.totalHits > LOGIN_FAILURES_MAX && (seen.resetTime?.getTime() ?? 0) > Date.now());
    },
    async fail(req, res, deny) {
      await failures(req, res, deny);
    },
    refuse,
  };
}

/** Basic auth, compared in constant time, behind the throttle of refused credentials. */
export function basicAuth(user: string, password: string, throttle: LoginThrottle) {
  const expected = digest(`${user}:${password}`);
  return async (req: Request, res: Response, next: NextFunction) => {
    // A client over the limit is refused whatever it sends now, the right password included.
    if (await throttle.locked(req)) return throttle.refuse(res);
    const header = req.headers.authorization ?? '';
    // The scheme is case-insensitive (RFC 9110).
    const given = /^basic /i.test(header) ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    // Hash both sides so the comparison takes the same time whatever the lengths.
    if (given && timingSafeEqual(digest(given), expected)) return next();
    const askLogin = () =>
      res
        .set('WWW-Authenticate', 'Basic realm="wa-bulk", charset="UTF-8"')
        .status(401)
        .json({ error: 'authentication required' });
    // No credential yet only asks for the login; a refused one counts.
    if (!given) return askLogin();
    await throttle.fail(req, res, askLogin);
  };
}

/**
 * A changing route takes only `Content-Type: application/json`, which a page on another site cannot send
 * with the browser's stored credentials without a CORS preflight this server never grants, and refuses
 * another Origin.
 */
export function sameOrigin(req: Request, res: Response, next: NextFunction): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    res.status(415).json({ error: 'Content-Type must be application/json' });
    return;
  }
  if (fromAnotherSite(req)) {
    res.status(403).json({ error: 'requests from another origin are refused' });
    return;
  }
  next();
}

/**
 * Whether a browser says the request comes from another site: a `Sec-Fetch-Site` other than same-origin (or
 * none, for a typed URL), or an `Origin` that is not this host (`null` and malformed ones included).
 */
export function fromAnotherSite(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/**
 * Bull Board's own API changes queues from plain form posts, which a page on another site can send with the
 * browser's stored credentials: only same-site JSON requests may change anything under /queues.
 */
export function boardWritesSameSiteOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  sameOrigin(req, res, next);
}

/**
 * Without a password the dashboard serves loopback only, so that nobody else can reach it unauthenticated; and
 * one that others can reach takes callbacks only at a secret URL (EngageLab signs nothing: the token in the
 * URL is the only thing a forger lacks).
 */
export function assertListenable(config: Config): void {
  if (isLoopback(config.DASHBOARD_HOST)) return;
  if (!config.DASHBOARD_PASSWORD) {
    throw new DashboardConfigError(
      `DASHBOARD_HOST: "${config.DASHBOARD_HOST}" is not a loopback address; set DASHBOARD_PASSWORD to serve the dashboard on other hosts`,
    );
  }
  if (!config.CALLBACK_TOKEN) {
    throw new DashboardConfigError(
      `DASHBOARD_HOST: "${config.DASHBOARD_HOST}" is not a loopback address; set CALLBACK_TOKEN so that only EngageLab, which knows the callback URL, can post delivery callbacks`,
    );
  }
}
