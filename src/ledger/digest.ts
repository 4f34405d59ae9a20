import crypto from 'node:crypto';

/**
 * A message's payload digest: what the ledger records beside a pending message as its job is written, and
 * what the worker compares the job's payload with before its first request, so that a job whose body or
 * recipient was changed behind the ledger's back (a raw Redis write, Bull Board's edit) is not sent.
 *
 * SHA-256 of the payload's JSON in base64url, its first 22 characters (132 bits). The job's data is stored as
 * that same JSON and read back by JSON.parse, so JSON.stringify of what a worker reads gives the same text.
 * It guards against changes made without the ledger, not against someone who rewrites both: that one can
 * write Redis, and has the whole fleet anyway.
 */
export function payloadDigest(payload: unknown): string {
  return jsonDigest(JSON.stringify(payload));
}

/** payloadDigest of a payload whose JSON the caller has already (JSON.stringify of it). */
export function jsonDigest(json: string): string {
  return sha256(json).slice(0, 22);
}

// crypto.hash (Node 20.12 and later) hashes a string in one call, about three times as fast as a Hash object,
// which matters on the enqueue path; older releases of Node 20 take the long way.
const sha256: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');
