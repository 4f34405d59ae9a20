import axios, {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { Pool, util as undiciUtil, type Dispatcher } from 'undici';

/**
 * What an axios error from this adapter carries as `request`: the one fact the unknown-outcome rule needs.
 * Node's ClientRequest has the same property, so the client reads both the same way.
 */
export interface SentFact {
  /** The whole request (headers and body) was handed to the socket. */
  writableFinished: boolean;
}

export interface UndiciAdapterOptions {
  /** Sockets kept to the origin (the worker's concurrency). */
  connections: number;
  /** The whole exchange, as axios's `timeout`; also bounds connecting. */
  timeoutMs: number;
}

/** A POST of a serialised JSON body, straight over the pool (see `undiciAdapter`'s `post`). */
export type JsonPost = (path: string, body: string) => Promise<{ status: number; data: unknown }>;

/**
 * An axios adapter over one undici `Pool` to one origin: the same requests, headers, timeout and errors as
 * axios's own Node adapter, at about half its CPU per request. The client keeps axios for everything around
 * the exchange (config, headers, JSON, validateStatus, AxiosError); this replaces only the socket work.
 *
 * `post` is the send path's own way over the same pool, without axios's per-request config merge, header
 * objects and transforms: the headers are given once, any 2xx resolves with the body parsed as JSON (the text
 * when it is not JSON, as axios's silent parsing), and every failure rejects as the adapter's would.
 *
 * Contract, kept exact because the worker's unknown-outcome rule rests on it:
 * - a failure before undici has written the whole request carries `request.writableFinished === false`, after
 *   it `true` (undici reports the write through its request-sent hook);
 * - a timeout is an AxiosError with code ECONNABORTED, as axios's own (clarifyTimeoutError off);
 * - any status is settled by `validateStatus` (`post`: 2xx), the body handed to axios's transformResponse as
 *   text; a refused status is an AxiosError with the response (status, headers, body as text);
 * - no redirects are followed, no compression is asked for, sockets are kept alive.
 * Proxies are not handled here: the client uses axios's own adapter when one applies to the origin.
 */
export function undiciAdapter(
  origin: string,
  options: UndiciAdapterOptions & { postHeaders?: Record<string, string> },
): { adapter: AxiosAdapter; post: JsonPost; close: () => Promise<void> } {
  const pool = new Pool(origin, {
    connections: options.connections,
    pipelining: 1,
    connect: { timeout: options.timeoutMs },
    // The whole-exchange timer below decides; these only stop undici's own shorter defaults from firing first.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const adapter: AxiosAdapter = async (config) => {
    const url = urlOf(config);
    const request: Exchange = {
      path: url.pathname + url.search,
      method: (config.method ?? 'get').toUpperCase() as Dispatcher.HttpMethod,
      headers: plainHeaders(config.headers),
      body: bodyOf(config.data),
      timeoutMs: config.timeout || options.timeoutMs,
      config,
    };
    const answer = await exchange(pool, url.origin, request);
    const response: AxiosResponse = {
      data: answer.text,
      status: answer.status,
      statusText: answer.statusText,
      headers: new AxiosHeaders(answer.headers as Record<string, string>),
      config,
      request: answer.sent,
    };
    const validate = config.validateStatus;
    if (!validate || validate(answer.status)) return response;
    throw refused(response, config, answer.sent);
  };
  const postHeaders = options.postHeaders ?? {};
  const post: JsonPost = async (path, body) => {
    const request: Exchange = { path, method: 'POST', headers: postHeaders, body, timeoutMs: options.timeoutMs };
    const answer = await exchange(pool, origin, request);
    if (answer.status >= 200 && answer.status < 300) return { status: answer.status, data: parsed(answer.text) };
    const response = {
      data: answer.text,
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers,
      request: answer.sent,
    } as AxiosResponse;
    throw refused(response, undefined, answer.sent);
  };
  return { adapter, post, close: () => pool.close() };
}

/** One request as the pool takes it; `config` only to hand to the AxiosErrors it may end in. */
interface Exchange {
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: string | Buffer | null;
  timeoutMs: number;
  config?: InternalAxiosRequestConfig;
}

/** An answer of any status, its body as text. */
interface Answer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  sent: SentFact;
}

/** The AxiosError of a status validateStatus refuses, as axios's own settle builds it. */
function refused(response: AxiosResponse, config: InternalAxiosRequestConfig | undefined, sent: SentFact): AxiosError {
  const code = response.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
  return new AxiosError(`Request failed with status code ${response.status}`, code, config, sent, response);
}

/** axios's default JSON parsing of a response, silent: the text itself when it is not JSON. */
function parsed(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function exchange(pool: Pool, origin: string, request: Exchange): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { config, timeoutMs } = request;
    const sent: SentFact = { writableFinished: false };
    let abortRequest: ((error: Error) => void) | undefined;
    let settled = false;
    let status = 0;
    let statusText = '';
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];

    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const fail = (error: Error & { code?: string }): void =>
      finish(() =>
        reject(
          error instanceof AxiosError
            ? error
            : new AxiosError(error.message, error.code ?? AxiosError.ERR_NETWORK, config, sent),
        ),
      );

    const timer = setTimeout(() => {
      const error = new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED, config, sent);
      fail(error);
      abortRequest?.(error);
    }, timeoutMs);
    timer.unref?.();

    const handler: Dispatcher.DispatchHandler & { onRequestSent(): void } = {
      onConnect(abort) {
        abortRequest = abort;
        // The timer fired while the request waited for a socket: undici must not send it now.
        if (settled) abort(new Error('timed out'));
      },
      onRequestSent() {
        sent.writableFinished = true;
      },
      onHeaders(statusCode, rawHeaders, _resume, message) {
        status = statusCode;
        statusText = message;
        headers = undiciUtil.parseHeaders(rawHeaders) as typeof headers;
        return true;
      },
      onData(chunk) {
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        finish(() => {
          const text =
            chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ status, statusText, headers, text, sent });
        });
      },
      onError(error) {
        fail(error);
      },
    };

    pool.dispatch(
      { origin, path: request.path, method: request.method, headers: request.headers, body: request.body },
      handler,
    );
  });
}

/** The send path's URLs, joined once (`axios.getUri` merges the config with axios's defaults each time). */
const joined = new Map<string, URL>();

/** axios's own join of baseURL, url and params (its serializer: the Template Management API's query). */
function urlOf(config: InternalAxiosRequestConfig): URL {
  if (config.params !== undefined) return new URL(axios.getUri(config));
  const key = `${config.baseURL ?? ''} ${config.url ?? ''}`;
  let url = joined.get(key);
  if (!url) {
    url = new URL(axios.getUri(config));
    // A handful in practice (one per origin and path); bounded all the same.
    if (joined.size < 64) joined.set(key, url);
  }
  return url;
}

function plainHeaders(headers: InternalAxiosRequestConfig['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers.toJSON() as Record<string, unknown>)) {
    if (value === undefined || value === null || value === false) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function bodyOf(data: unknown): string | Buffer | null {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  return JSON.stringify(data);
}
