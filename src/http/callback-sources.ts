import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { inNetworks, parseAddress, parseNetwork, type Network } from '../networks.js';

/**
 * CALLBACK_ALLOW_FROM: delivery callbacks taken only from the listed networks (EngageLab's), as a second bar
 * beside the URL's token. A callback's source is the socket's peer or, behind reverse proxies
 * (CALLBACK_TRUSTED_PROXIES), the address in X-Forwarded-For the trusted hops name, found as Express's
 * `trust proxy` finds `req.ip` (a number of hops, or the proxies' networks). This app's `trust proxy` stays
 * off: the loopback rule reads the socket itself, and the throttle of refused credentials finds its client with
 * sourceOf too, from DASHBOARD_TRUSTED_PROXIES.
 *
 * A refused source gets 403, is counted (`count`) and logged once per source and window: a flood of forged
 * posts makes one line a minute per address, not one per post.
 */

export const REFUSAL_LOG_WINDOW_MS = 60_000;
/** Sources remembered for the once-a-window log; beyond that the memory starts again. */
const REMEMBERED_MAX = 10_000;

/** The request's source: the peer, or the client the trusted proxy hops forwarded it for. */
export function sourceOf(req: Request, trusted: number | readonly Network[]): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  // Nearest first: the peer, then the proxies' entries from the right.
  const chain = [req.socket.remoteAddress ?? '', ...forwarded.reverse()];
  if (typeof trusted === 'number') return chain[Math.min(trusted, chain.length - 1)] as string;
  let i = 0;
  while (i < chain.length - 1) {
    const hop = parseAddress(chain[i] as string);
    if (!hop || !inNetworks(hop, trusted)) break;
    i++;
  }
  return chain[i] as string;
}

/** A `*_TRUSTED_PROXIES` value as sourceOf takes it (its networks were checked when the configuration was read). */
export function trustedProxiesOf(value: number | readonly string[]): number | readonly Network[] {
  return typeof value === 'number' ? value : value.map((text) => parseNetwork(text) as Network);
}

export function callbackSources(
  config: Pick<Config, 'CALLBACK_ALLOW_FROM' | 'CALLBACK_TRUSTED_PROXIES'>,
  log: Logger,
  count: () => void,
): (req: Request, res: Response, next: NextFunction) => void {
  // Checked when the configuration was read: each parses.
  const parse = (list: readonly string[]) => list.map((text) => parseNetwork(text) as Network);
  const allowed = parse(config.CALLBACK_ALLOW_FROM ?? []);
  const trusted = trustedProxiesOf(config.CALLBACK_TRUSTED_PROXIES);
  const loggedAt = new Map<string, number>();
  return (req, res, next) => {
    const source = sourceOf(req, trusted);
    const addr = parseAddress(source);
    if (addr && inNetworks(addr, allowed)) return next();
    count();
    const now = Date.now();
    const shown = addr?.toString() ?? source.slice(0, 64);
    if (now - (loggedAt.get(shown) ?? 0) >= REFUSAL_LOG_WINDOW_MS) {
      if (loggedAt.size >= REMEMBERED_MAX) loggedAt.clear();
      loggedAt.set(shown, now);
      log.warn(
        { source: shown },
        'callback refused: its source is not in CALLBACK_ALLOW_FROM (counted in wa_bulk_callbacks_refused_total; logged once a minute per source)',
      );
    }
    res.status(403).json({ error: 'callbacks are not taken from this address' });
  };
}
