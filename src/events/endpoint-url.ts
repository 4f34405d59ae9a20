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
