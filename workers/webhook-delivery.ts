import http from 'node:http';
import https from 'node:https';
import type { Config } from '../src/config.js';
import { endpointUrlProblem } from '../src/events/endpoint-url.js';
import type { WebhookAdmin } from '../src/events/manage.js';
import { signedHeaders } from '../src/events/signing.js';
import { guardedLookup } from '../src/preflight/probe.js';

/**
 * One webhook request, as Standard Webhooks asks: a POST of the signed body, its answer within the time
 * limit; a 2xx answer is a delivery, anything else a failure, a redirect too (never followed); 410 Gone says
 * the endpoint is to be disabled. As preflight's probe, it refuses an address that is private or reserved
 * (the name is resolved at each connection, so a name that later points inward is refused then), unless
 * WEBHOOK_ALLOW_PRIVATE.
 */

export type Attempt =
  | { result: 'delivered'; status: number }
  | { result: 'gone'; status: 410 }
  | { result: 'failed'; status: number | null; error: string; retryAfterMs?: number };

/** At most this long is a Retry-After waited out (longer ones are cut to it). */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/** A Retry-After header's wait (seconds, or an HTTP date), in ms; undefined when absent or not one. */
function retryAfterOf(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const ms = /^\d+$/.test(text.trim()) ? Number(text.trim()) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** What of an answer's body a failure keeps in its error. */
const ERROR_BODY_CHARS = 200;

export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; allowPrivate: boolean },
): Promise<Attempt> {
  const problem = endpointUrlProblem(url, options.allowPrivate);
  if (problem) return Promise.resolve({ result: 'failed', status: null, error: problem });
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise((resolve) => {
    const request = (secure ? https : http).request(target, {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      lookup: guardedLookup(options.allowPrivate),
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'wa-bulk-webhooks',
      },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < ERROR_BODY_CHARS) chunks.push(chunk);
        kept += chunk.length;
      });
      response.on('error', () => resolve({ result: 'failed', status, error: 'the answer was cut off' }));
      response.on('end', () => {
        if (status >= 200 && status < 300) return resolve({ result: 'delivered', status });
        if (status === 410) return resolve({ result: 'gone', status });
        const text = Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_CHARS).trim();
        const why = status >= 300 && status < 400 ? 'a redirect (not followed)' : `HTTP ${status}`;
        // A receiver that asks for time (429, 502, 504 with Retry-After) gets at least that much.
        const retryAfterMs = [429, 502, 503, 504].includes(status)
          ? retryAfterOf(response.headers['retry-after'])
          : undefined;
        resolve({
          result: 'failed',
          status,
          error: text ? `${why}: ${text}` : why,
          ...(retryAfterMs !== undefined && { retryAfterMs }),
        });
      });
    });
    request.on('error', (error: Error) => {
      const timedOut = error.name === 'TimeoutError' || error.name === 'AbortError';
      resolve({
        result: 'failed',
        status: null,
        error: timedOut ? `no answer within ${options.timeoutMs} ms` : error.message,
      });
    });
    request.end(body);
  });
}

/**
 * A `webhook.test` event sent to an endpoint now, signed with its secrets, outside the feed and its retries
 * (one event a request, whatever the endpoint's batch). Its answer says whether the endpoint is reachable.
 */
export async function sendTestEvent(admin: WebhookAdmin, id: string, config: Config): Promise<Attempt> {
  const endpoint = await admin.get(id);
  const now = Date.now();
  const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date(now).toISOString(), data: { endpoint: id } });
  const headers = signedHeaders(await admin.endpoints.secrets(id), `msg_test_${now}`, body, now);
  return postWebhook(endpoint.url, headers, body, {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
  });
}
