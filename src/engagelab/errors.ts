/**
 * Every way a send can fail, decided in one place. `fromAxiosError` turns a failed HTTP exchange into an
 * `EngageLabError` (and `missingMessageId` the one failure an accepted answer can have); `classify` reads the
 * table of codes and statuses into a kind; `POLICY` says, per kind, what the client and the worker do, and
 * both read it through `policyOf` and `decide`.
 *
 * Error codes: EngageLab Send Message API, "Error Codes"; 5002 (the template request failed at Meta) from
 * EngageLab's Template Management API documentation.
 */

export type ErrorKind = 'transient' | 'permanent' | 'auth' | 'rate_limited' | 'unknown_outcome';

/** What the worker does with a send that failed (after the client's in-process retries). */
export type Decision =
  /** Another BullMQ attempt after its backoff (dead letter, reason retries_exhausted, after the last). */
  | 'retry_later'
  /** A dead letter now, with this reason. */
  | 'dead_letter'
  /** Pause the send queue with the reason; the job goes back with its attempts. */
  | 'pause'
  /** Every worker waits out Retry-After; no attempt is spent. */
  | 'hold';

export interface Policy {
  /** p-retry retries it within the attempt (RETRY_RETRIES, jittered). */
  retryInProcess: boolean;
  /** What the worker does once the client gives up. */
  then: Decision;
  /** Dead-letter reason, when `then` is dead_letter. */
  reason?: 'permanent' | 'unknown_outcome';
  /** A failure of EngageLab for the outage breaker (a 4xx is our request's fault, not an outage). */
  outage: boolean;
  /** The request cannot have been accepted: its in-flight mark may go. */
  notSent: boolean;
}

export const POLICY: Readonly<Record<ErrorKind, Policy>> = Object.freeze({
  transient: { retryInProcess: true, then: 'retry_later', outage: true, notSent: true },
  permanent: { retryInProcess: false, then: 'dead_letter', reason: 'permanent', outage: false, notSent: true },
  auth: { retryInProcess: false, then: 'pause', outage: false, notSent: true },
  rate_limited: { retryInProcess: false, then: 'hold', outage: false, notSent: true },
  // EngageLab may have accepted it: never resent blindly (AMBIGUOUS_OUTCOME decides).
  unknown_outcome: {
    retryInProcess: false,
    then: 'dead_letter',
    reason: 'unknown_outcome',
    outage: true,
    notSent: false,
  },
});

export function policyOf(error: EngageLabError): Policy {
  return POLICY[error.kind];
}

/** The worker's decision; AMBIGUOUS_OUTCOME=resend turns an unknown outcome into another attempt. */
export function decide(error: EngageLabError, ambiguous: 'dead-letter' | 'resend'): Decision {
  if (error.kind === 'unknown_outcome' && ambiguous === 'resend') return 'retry_later';
  return POLICY[error.kind].then;
}

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
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
]);

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

  /** Recognised by name as well, so errors crossing module copies or serialisation still match. */
  static is(error: unknown): error is EngageLabError {
    return (
      error instanceof EngageLabError || (error instanceof Error && error.name === 'EngageLabError' && 'kind' in error)
    );
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
  const code =
    typeof record.code === 'number'
      ? record.code
      : typeof record.code === 'string' && /^\d+$/.test(record.code)
        ? Number(record.code)
        : undefined;
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

/** An accepted answer (2xx) without the message_id we need: we cannot tell what happened to the message. */
export function missingMessageId(httpStatus: number, requestId: string | undefined): EngageLabError {
  return new EngageLabError({
    kind: 'unknown_outcome',
    httpStatus,
    requestId,
    message: `HTTP ${httpStatus} without a message_id`,
  });
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
