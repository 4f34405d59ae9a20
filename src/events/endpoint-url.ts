import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPublicAddress } from '../preflight/probe.js';

/** Why a URL cannot be an endpoint's (undefined when it can): http(s), and no private literal address. */
export function endpointUrlProblem(text: string, allowPrivate: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.username || url.password) return 'expected a URL without credentials (the signature authenticates wa-bulk)';
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(literal) && !isPublicAddress(literal))
    return `${literal} is a private or reserved address (WEBHOOK_ALLOW_PRIVATE=true allows it)`;
  return undefined;
}

/** How long a new endpoint's name may take to resolve before it is taken unchecked (delivery checks it). */
const LOOKUP_TIMEOUT_MS = 5000;

/**
 * Why a URL endpointUrlProblem accepts still cannot be an endpoint's: its host name resolves to private or
 * reserved addresses only, so that every delivery to it would be refused. A name that does not resolve now
 * (not yet published, DNS away) is not refused here: the delivery resolves it again at each connection and
 * refuses it then, which also catches a name that later points inward.
 */
export async function endpointAddressProblem(text: string, allowPrivate: boolean): Promise<string | undefined> {
  const host = new URL(text).hostname.replace(/^\[|\]$/g, '');
  if (allowPrivate || isIP(host)) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS);
    timer.unref();
  });
  const addresses = await Promise.race([lookup(host, { all: true }).catch(() => undefined), timeout]);
  clearTimeout(timer);
  if (!addresses || addresses.length === 0 || addresses.some((a) => isPublicAddress(a.address))) return undefined;
  const list = addresses.map((a) => a.address).join(', ');
  return `${host} resolves to ${list}, a private or reserved address (WEBHOOK_ALLOW_PRIVATE=true allows it)`;
}
