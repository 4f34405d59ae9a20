import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import pRetry from 'p-retry';
import { getProxyForUrl } from 'proxy-from-env';
import type { MessageBody } from '../messages/schema.js';
import { EngageLabError, fromAxiosError, missingMessageId, policyOf } from './errors.js';
import { undiciAdapter, type SentFact } from './undici-adapter.js';
import { attemptSpan, endAttemptSpan } from '../telemetry/http-spans.js';

/** The request body of POST /v1/messages (seed: "Request parameters"). */
export interface SendPayload {
  from?: string | undefined;
  to: string[];
  body: MessageBody;
  request_id?: string | undefined;
  custom_args?: Record<string, unknown> | undefined;
}

/** One element of the Template Management API's answer. */
export interface TemplateInfo {
  id?: string;
  name: string;
  language: string;
  status: string;
  category?: string;
  components?: Array<{
    type: string;
    format?: string;
    text?: string;
    buttons?: Array<{ type?: string; text?: string; url?: string }>;
  }>;
}

export interface SendResult {
  messageId: string;
  requestId: string | undefined;
  /** HTTP requests this send made, retries included. */
  attempts: number;
}

export interface AttemptReport {
  ok: boolean;
  error?: EngageLabError;
  durationMs: number;
}

export interface EngageLabClientOptions {
  baseUrl: string;
  key: string;
  secret: string;
  timeoutMs: number;
  /** p-retry: retries after the first request, for `transient` failures only. */
  retries: number;
  minRetryMs: number;
  maxRetryMs: number;
  /** Sockets kept per origin; match the worker's concurrency. */
  maxSockets?: number;
  /** Default hooks; `send(payload, hooks)` can give its own. */
  hooks?: AttemptHooks;
  /**
   * `undici` (default): axios over an undici Pool (./undici-adapter.ts), less CPU per request
   * (docs/performance.md); `node`: axios's own adapter over Node's http. A proxy for the API's
   * URL always goes through axios's own adapter.
   */
  transport?: 'undici' | 'node';
}

export interface AttemptHooks {
  /** Runs before every HTTP request, retries included (the global rate limit lives here). */
  beforeAttempt?: () => Promise<void>;
  /** Runs after every HTTP request with its outcome (metrics, the outage breaker). */
  afterAttempt?: (report: AttemptReport) => void | Promise<void>;
}

/** A failure the policy retries in process (a transient one). */
const retryable = (error: unknown): boolean => EngageLabError.is(error) && policyOf(error).retryInProcess;

/**
 * A thin client for EngageLab's Send Message API over axios: keep-alive sockets (undici's pool as axios's
 * adapter, or axios's own with a proxy or HTTP_TRANSPORT=node), HTTP Basic auth (base64(dev_key:dev_secret), seed
 * "Call validation"), a timeout, and short jittered p-retry retries of transient failures. Everything else
 * surfaces as an EngageLabError for the worker's policy.
 */
export class EngageLabClient {
  private readonly http: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly closePool: (() => Promise<void>) | undefined;
  /** Which adapter carries the requests (a proxy forces `node`). */
  readonly transport: 'undici' | 'node';

  constructor(private readonly options: EngageLabClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    const proxied = Boolean(getProxyForUrl(options.baseUrl));
    this.transport = proxied ? 'node' : (options.transport ?? 'undici');
    // The headers every request carries; HTTP Basic auth encoded once rather than on every request.
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      Authorization: `Basic ${Buffer.from(`${options.key}:${options.secret}`).toString('base64')}`,
    };
    const pool =
      this.transport === 'undici'
        ? undiciAdapter(new URL(options.baseUrl).origin, {
            connections: options.maxSockets ?? 256,
            timeoutMs: options.timeoutMs,
          })
        : undefined;
    this.closePool = pool?.close;
    this.http = axios.create({
      ...(pool ? { adapter: pool.adapter } : {}),
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      // No redirects: axios then uses Node's own request, whose state tells whether a request was written.
      maxRedirects: 0,
      // axios reads HTTP(S)_PROXY / NO_PROXY on every request; read them once. With a proxy for the API's
      // URL, axios goes on handling it; without one, it skips the lookup.
      ...(proxied ? {} : { proxy: false as const }),
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      headers,
      validateStatus: (status) => status >= 200 && status < 300,
      // Bodies are JSON strings already (sendOnce): axios's default would parse each one again to check it.
      transformRequest: [(data: unknown) => data],
      // Retry-After and error bodies are read by fromAxiosError; never throw on a non-JSON body.
      transitional: { silentJSONParsing: true, clarifyTimeoutError: false },
    });
  }

  /**
   * One HTTP request, no retry; `attempt` counts from 1 within one send()'s retries (for its span and the
   * result's `attempts`). `json` is the payload serialised, when the caller has it already.
   */
  async sendOnce(
    payload: SendPayload,
    hooks: AttemptHooks | undefined = this.options.hooks,
    attempt = 1,
    json = JSON.stringify(payload),
  ): Promise<SendResult> {
    await hooks?.beforeAttempt?.();
    const span = attemptSpan(this.options.baseUrl, payload.request_id, attempt);
    const started = performance.now();
    try {
      // A string body goes out as it is (axios skips its object checks and serialisation).
      const response = await this.http.post('/v1/messages', json);
      const data = response.data as { message_id?: unknown; request_id?: unknown } | undefined;
      if (typeof data?.message_id !== 'string' || data.message_id === '')
        throw missingMessageId(response.status, payload.request_id);
      endAttemptSpan(span, response.status);
      await hooks?.afterAttempt?.({ ok: true, durationMs: performance.now() - started });
      return {
        messageId: data.message_id,
        requestId: typeof data.request_id === 'string' ? data.request_id : payload.request_id,
        attempts: attempt,
      };
    } catch (error) {
      const failure = EngageLabError.is(error)
        ? error
        : fromAxiosError(
            error,
            {
              requestWritten: (error as { request?: http.ClientRequest | SentFact }).request?.writableFinished === true,
            },
            payload.request_id,
          );
      endAttemptSpan(span, failure.httpStatus, failure);
      await hooks?.afterAttempt?.({ ok: false, error: failure, durationMs: performance.now() - started });
      throw failure;
    }
  }

  /**
   * Sends with p-retry: failures the policy retries in process (transient ones), with jitter, inside the
   * RETRY_* bounds. The first request goes out on its own; p-retry takes over only after a retryable failure
   * (its first run hands that failure back, so the delays are those of one p-retry run from the start). The
   * payload is serialised once for all its requests; `json` is that text when the caller has it already.
   */
  async send(
    payload: SendPayload,
    hooks: AttemptHooks | undefined = this.options.hooks,
    json = JSON.stringify(payload),
  ): Promise<SendResult> {
    let attempts = 1;
    let first: unknown;
    try {
      return await this.sendOnce(payload, hooks, attempts, json);
    } catch (error) {
      if (this.options.retries <= 0 || !retryable(error)) throw error;
      first = error;
    }
    const result = await pRetry(
      async (attemptNumber) => {
        if (attemptNumber === 1) throw first;
        attempts++;
        return this.sendOnce(payload, hooks, attempts, json);
      },
      {
        retries: this.options.retries,
        minTimeout: this.options.minRetryMs,
        maxTimeout: this.options.maxRetryMs,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => retryable(error),
      },
    );
    return result;
  }

  /**
   * EngageLab's Template Management API: `GET /v1/templates` (name is a fuzzy match, so callers pick the
   * exact one). Same origin, Basic auth and in-process retries of transient failures as a send; no rate limit
   * is published for it, and preflight asks once per distinct template.
   */
  async listTemplates(query: { name?: string; language_code?: string }): Promise<TemplateInfo[]> {
    return pRetry(
      async () => {
        try {
          const response = await this.http.get('/v1/templates', { params: query });
          return Array.isArray(response.data) ? (response.data as TemplateInfo[]) : [];
        } catch (error) {
          throw fromAxiosError(error, { requestWritten: true });
        }
      },
      {
        retries: this.options.retries,
        minTimeout: this.options.minRetryMs,
        maxTimeout: this.options.maxRetryMs,
        randomize: true,
        shouldRetry: ({ error }) => retryable(error),
      },
    );
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
    // Sends are settled before a client is closed; closing waits for nothing but idle sockets.
    void this.closePool?.().catch(() => undefined);
  }
}
