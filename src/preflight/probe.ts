import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * What a media link answers, learnt without downloading it: HEAD, or a one-byte ranged GET where HEAD is
 * refused or says no size, following at most MAX_REDIRECTS redirects, within one timeout.
 *
 * The links come from user input, so preflight must not become a way to probe the operator's network: an
 * address that is loopback, private, link-local, multicast, unspecified or otherwise reserved is refused
 * unless the operator allows it (PREFLIGHT_ALLOW_PRIVATE). The check is made on the address the connection
 * actually goes to (the lookup that resolves the name is the one the socket uses, so a name resolving to
 * 10.0.0.1 is refused too, and so is every redirect's target).
 */

export const MAX_REDIRECTS = 5;

export type ProbeResult =
  | { kind: 'answer'; status: number; contentType: string | undefined; bytes: number | undefined; url: string }
  | { kind: 'refused'; reason: string }
  | { kind: 'unreachable'; reason: string };

export interface ProbeOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

export class PrivateAddress extends Error {
  override name = 'PrivateAddress';
}

/** The only IPv6 addresses routed on the public internet: global unicast, 2000::/3 (IANA's allocation). */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Unicast addresses on the public internet only. IPv6 outside 2000::/3 is never public, whatever a library
 * calls it (`::7f00:1`, an IPv4-compatible form of 127.0.0.1, is "unicast" to ipaddr.js).
 */
export function isPublicAddress(address: string): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return false;
  return parsed.range() === 'unicast';
}

/** A DNS lookup that refuses names resolving only to private or reserved addresses (unless allowed). */
export function guardedLookup(allowPrivate: boolean): NonNullable<http.RequestOptions['lookup']> {
  return ((
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const usable = allowPrivate ? addresses : addresses.filter((a) => isPublicAddress(a.address));
      if (usable.length === 0)
        return callback(
          new PrivateAddress(
            `${hostname} resolves to ${addresses.map((a) => a.address).join(', ')}, a private or reserved address`,
          ),
          '',
          0,
        );
      if (options.all) return callback(null, usable);
      const first = usable[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  }) as NonNullable<http.RequestOptions['lookup']>;
}

interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function exchange(url: URL, method: 'HEAD' | 'GET', options: ProbeOptions, signal: AbortSignal): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !options.allowPrivate && !isPublicAddress(literal)) {
      reject(new PrivateAddress(`${literal} is a private or reserved address`));
      return;
    }
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, {
      method,
      signal,
      lookup: guardedLookup(options.allowPrivate),
      headers: { 'User-Agent': 'wa-bulk-preflight', Accept: '*/*', ...(method === 'GET' && { Range: 'bytes=0-0' }) },
      agent: false,
    });
    request.on('response', (response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      // No body beyond the byte asked for: the socket goes.
      response.destroy();
    });
    request.on('error', reject);
    request.end();
  });
}

const bytesOf = (headers: http.IncomingHttpHeaders): number | undefined => {
  const range = /\/(\d+)\s*$/.exec(String(headers['content-range'] ?? ''));
  if (range) return Number(range[1]);
  const length = headers['content-length'];
  return length !== undefined && /^\d+$/.test(String(length)) ? Number(length) : undefined;
};

export async function probe(link: string, options: ProbeOptions): Promise<ProbeResult> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let url = new URL(link);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let answer = await exchange(url, 'HEAD', options, signal);
      let method: 'HEAD' | 'GET' = 'HEAD';
      const noSize = answer.status >= 200 && answer.status < 300 && bytesOf(answer.headers) === undefined;
      if (answer.status === 405 || answer.status === 501 || answer.status === 403 || noSize) {
        answer = await exchange(url, 'GET', options, signal);
        method = 'GET';
      }
      if (answer.status >= 300 && answer.status < 400 && answer.headers.location) {
        const next = new URL(String(answer.headers.location), url);
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          return { kind: 'unreachable', reason: `redirected to a ${next.protocol} link` };
        url = next;
        continue;
      }
      const contentType =
        answer.headers['content-type'] === undefined ? undefined : String(answer.headers['content-type']);
      // A ranged GET answered 206 names the whole size in Content-Range; a 200 to it, in Content-Length.
      return {
        kind: 'answer',
        status: method === 'GET' && answer.status === 206 ? 200 : answer.status,
        contentType,
        bytes: bytesOf(answer.headers),
        url: url.toString(),
      };
    }
    return { kind: 'unreachable', reason: `more than ${MAX_REDIRECTS} redirects` };
  } catch (error) {
    if (error instanceof PrivateAddress)
      return { kind: 'refused', reason: `${error.message}; not fetched (PREFLIGHT_ALLOW_PRIVATE=true allows it)` };
    const e = error as { name?: string; code?: string; message?: string };
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || signal.aborted)
      return { kind: 'unreachable', reason: `no answer within ${options.timeoutMs} ms` };
    return { kind: 'unreachable', reason: e.code ?? e.message ?? 'unreachable' };
  }
}
