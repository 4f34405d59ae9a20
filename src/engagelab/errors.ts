/**
 * Every way a send can fail, decided in one place. `fromAxiosError` is the only function that turns a
 * transport failure into an `EngageLabError`; `classify` reads the one table of codes and statuses;
 * `ACTION_OF` says what the worker does with each kind.
 *
 * Error codes: ../shared/seeds/send-message-api.en.txt ("Error Codes"); 5002 (template request failed at
 * Meta) from EngageLab's template API documentation.
 */

export type ErrorKind = 'transient' | 'permanent' | 'auth' | 'rate_limited' | 'unknown_outcome';

/** What the worker does: retry (p-retry, then BullMQ attempts), dead-letter now, pause the queue, slow every worker down, or apply AMBIGUOUS_OUTCOME. */
export type ErrorAction = 'retry' | 'dead_letter' | 'pause' | 'slow_down' | 'ambiguous';

export const ACTION_OF: Readonly<Record<ErrorKind, ErrorAction>> = Object.freeze({
  transient: 'retry',
  permanent: 'dead_letter',
  auth: 'pause',
  rate_limited: 'slow_down',
  unknown_outcome: 'ambiguous',
});

/** EngageLab codes whose meaning does not depend on the HTTP status they come with. */
export const CODE_KINDS: Readonly<Record<number, ErrorKind>> = Object.freeze({
  1000: 'transient', // internal error (HTTP 500)
  2001: 'auth', // no valid token
  2002: 'auth', // token expired or disabled
  2003: 'auth', // WhatsApp authentication failed
  2004: 'auth', // key lacks permission for this sending number
  3001: 'permanent', // body is not JSON
  3002: 'permanent', // parameters do not meet the requirements
  3003: 'permanent', // parameters fail business validation
  4001: 'permanent', // resource (template) does not exist
  5002: 'permanent', // template request failed at Meta
});

/** Network errors raised before the connection existed: the request cannot have reached EngageLab. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

/**
 * The table. A 429 always means "slow down"; a known EngageLab code decides next; then the HTTP status:
 * 5xx (whatever its body, an HTML error page included) and 408 are transient, 401/403 without a code are
 * treated as credentials problems, any other 4xx is permanent.
 */
export function classify(httpStatus: number | undefined, code: number | undefined): ErrorKind {
  if (httpStatus === 429) return 'rate_limited';
  if (code !== undefined && CODE_KINDS[code] !== undefined) return CODE_KINDS[code];
  if (httpStatus === undefined) return 'transient';
  if (httpStatus >= 500 || httpStatus === 408) return 'transient';
  if (httpStatus === 401 || httpStatus === 403) return 'auth';
  return 'permanent';
}

export interface EngageLabErrorInit {
  kind: ErrorKind;
  message: string;
  httpStatus?: number | undefined;
  code?: number | undefined;
  requestId?: string | undefined;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

export class EngageLabError extends Error {
  override readonly name = 'EngageLabError';
  readonly kind: ErrorKind;
  readonly httpStatus: number | undefined;
  readonly code: number | undefined;
  readonly requestId: string | undefined;
  /** For `rate_limited`: how long EngageLab asked us to wait. */
  readonly retryAfterMs: number | undefined;

  constructor(init: EngageLabErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.httpStatus = init.httpStatus;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }

  get action(): ErrorAction {
    return ACTION_OF[this.kind];
  }

  /** Recognised by name as well, so errors crossing module copies or serialisation still match. */
  static is(error: unknown): error is EngageLabError {
    return error instanceof EngageLabError || (error instanceof Error && error.name === 'EngageLabError' && 'kind' in error);
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: unknown, nowMs = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function bodyFields(data: unknown): { code?: number; message?: string } {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const code = typeof record.code === 'number' ? record.code : typeof record.code === 'string' && /^\d+$/.test(record.code) ? Number(record.code) : undefined;
  const message = typeof record.message === 'string' ? record.message : undefined;
  return { ...(code !== undefined && { code }), ...(message !== undefined && { message }) };
}

/** What the transport knew about the request when it failed (see client.ts). */
export interface TransportFacts {
  /** The connection was established and the whole request was handed to it. */
  requestWritten: boolean;
}

interface AxiosLikeError {
  code?: string;
  message: string;
  response?: { status: number; data?: unknown; headers?: Record<string, unknown> };
}

/** The one function that turns a failed HTTP exchange into an EngageLabError. */
export function fromAxiosError(error: unknown, facts: TransportFacts, requestId?: string): EngageLabError {
  const err = error as AxiosLikeError;
  const response = err?.response;
  if (response) {
    const { code, message } = bodyFields(response.data);
    const kind = classify(response.status, code);
    const retryAfter = response.headers?.['retry-after'];
    return new EngageLabError({
      kind,
      httpStatus: response.status,
      code,
      requestId,
      message: message ?? `HTTP ${response.status}`,
      retryAfterMs: kind === 'rate_limited' ? parseRetryAfter(retryAfter) : undefined,
      cause: error,
    });
  }
  const networkCode = err?.code;
  const notSent = (networkCode !== undefined && NOT_SENT_CODES.has(networkCode)) || !facts.requestWritten;
  const timedOut = networkCode === 'ECONNABORTED' || networkCode === 'ETIMEDOUT';
  const what = timedOut ? 'timed out' : `failed (${networkCode ?? err?.message ?? 'unknown error'})`;
  return new EngageLabError({
    kind: notSent ? 'transient' : 'unknown_outcome',
    requestId,
    message: notSent
      ? `request ${what} before it reached EngageLab`
      : `request ${what} after it was sent; EngageLab may or may not have accepted it`,
    cause: error,
  });
}
