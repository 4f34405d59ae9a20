import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';

/**
 * The dashboard's guards. With DASHBOARD_PASSWORD set, everything but /healthz and the callback receiver
 * needs Basic auth (compared in constant time); without it the server only starts on a loopback address and
 * answers only requests whose Host is a loopback name, so a web page elsewhere cannot reach it through DNS
 * rebinding. Changing routes take only JSON from the same origin (sameOrigin).
 */

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

/** Without a password: answers only requests addressed to a loopback name. */
export function loopbackHostsOnly(req: Request, res: Response, next: NextFunction): void {
  if (isLoopback(hostName(req.headers.host))) return next();
  res.status(403).json({ error: 'this dashboard has no DASHBOARD_PASSWORD and answers only on localhost' });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

export function basicAuth(user: string, password: string) {
  const expected = digest(`${user}:${password}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    // Hash both sides so the comparison takes the same time whatever the lengths.
    if (given && timingSafeEqual(digest(given), expected)) return next();
    res
      .set('WWW-Authenticate', 'Basic realm="wa-bulk", charset="UTF-8"')
      .status(401)
      .json({ error: 'authentication required' });
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
  const origin = req.headers.origin;
  if (origin && new URL(origin).host !== req.headers.host) {
    res.status(403).json({ error: 'requests from another origin are refused' });
    return;
  }
  next();
}

/** Without a password the dashboard serves loopback only, so that nobody else can reach it unauthenticated. */
export function assertListenable(config: Config): void {
  if (!config.DASHBOARD_PASSWORD && !isLoopback(config.DASHBOARD_HOST)) {
    throw new DashboardConfigError(
      `DASHBOARD_HOST: "${config.DASHBOARD_HOST}" is not a loopback address; set DASHBOARD_PASSWORD to serve the dashboard on other hosts`,
    );
  }
}
