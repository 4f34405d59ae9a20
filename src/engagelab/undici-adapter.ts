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

/**
 * An axios adapter over one undici `Pool` to one origin: the same requests, headers, timeout and errors as
 * axios's own Node adapter, at about half its CPU per request. The client keeps axios for everything around
 * the exchange (config, headers, JSON, validateStatus, AxiosError); this replaces only the socket work.
 *
 * Contract, kept exact because the worker's unknown-outcome rule rests on it:
 * - a failure before undici has written the whole request carries `request.writableFinished === false`, after
 *   it `true` (undici reports the write through its request-sent hook);
 * - a timeout is an AxiosError with code ECONNABORTED, as axios's own (clarifyTimeoutError off);
 * - any status is settled by `validateStatus`, the body handed to axios's transformResponse as
 *   text; a refused status is an AxiosError with the response (status, headers, body as text);
 * - no redirects are followed, no compression is asked for, sockets are kept alive.
 * Proxies are not handled here: the client uses axios's own adapter when one applies to the origin.
 */
export function undiciAdapter(
  origin: string,
  options: UndiciAdapterOptions,
): { adapter: AxiosAdapter; close: () => Promise<void> } {
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
      headers: new AxiosHeaders(headersOf(answer) as Record<string, string>),
      config,
      request: answer.sent,
    };
    const validate = config.validateStatus;
    if (!validate || validate(answer.status)) return response;
    throw refused(response, config, answer.sent);
  };
  return { adapter, close: () => pool.close() };
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

/** An answer of any status, its body as text; its headers as received, parsed only where read (a send reads none). */
interface Answer {
  status: number;
  statusText: string;
  rawHeaders: Buffer[];
  text: string;
  sent: SentFact;
}

const headersOf = (answer: Answer) =>
  undiciUtil.parseHeaders(answer.rawHeaders) as Record<string, string | string[] | undefined>;

/** The AxiosError of a status validateStatus refuses, as axios's own settle builds it. */
function refused(response: AxiosResponse, config: InternalAxiosRequestConfig | undefined, sent: SentFact): AxiosError {
  const code = response.status >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST;
  return new AxiosError(`Request failed with status code ${response.status}`, code, config, sent, response);
}

function exchange(pool: Pool, origin: string, request: Exchange): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = new Call(request, resolve, reject);
    pool.dispatch(
      { origin, path: request.path, method: request.method, headers: request.headers, body: request.body },
      call,
    );
  });
}

/**
 * One request's exchange: the handler undici calls back, which settles its promise once (an answer, a
 * failure or the timeout, whichever comes first). A class rather than closures: one object per request.
 */
class Call implements Dispatcher.DispatchHandler {
  readonly sent: SentFact = { writableFinished: false };
  private abortRequest: ((error: Error) => void) | undefined;
  private settled = false;
  private status = 0;
  private statusText = '';
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly request: Exchange,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.timer = setTimeout(timedOut, request.timeoutMs, this);
    this.timer.unref?.();
  }

  /** The whole exchange took longer than its timeout: fails as axios's own timeout, and stops the request. */
  timeout(): void {
    const { config, timeoutMs } = this.request;
    const error = new AxiosError(`timeout of ${timeoutMs}ms exceeded`, AxiosError.ECONNABORTED, config, this.sent);
    this.fail(error);
    this.abortRequest?.(error);
  }

  onConnect(abort: (error: Error) => void): void {
    this.abortRequest = abort;
    // The timer fired while the request waited for a socket: undici must not send it now.
    if (this.settled) abort(new Error('timed out'));
  }

  onRequestSent(): void {
    this.sent.writableFinished = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, message: string): boolean {
    this.status = statusCode;
    this.statusText = message;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (!this.end()) return;
    const { chunks } = this;
    const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
    const { status, statusText, rawHeaders, sent } = this;
    this.resolve({ status, statusText, rawHeaders, text, sent });
  }

  onError(error: Error & { code?: string }): void {
    this.fail(error);
  }

  private fail(error: Error & { code?: string }): void {
    if (!this.end()) return;
    const { config } = this.request;
    this.reject(
      error instanceof AxiosError
        ? error
        : new AxiosError(error.message, error.code ?? AxiosError.ERR_NETWORK, config, this.sent),
    );
  }

  /** Whether this is the exchange's first end (the others are ignored). */
  private end(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    return true;
  }
}

function timedOut(call: Call): void {
  call.timeout();
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
