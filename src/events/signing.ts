import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks v1 signing (standardwebhooks.com): the signed content is `<webhook-id>.<webhook-timestamp>.<body>`,
 * the exact bytes sent; the signature is `v1,` + base64 of its HMAC-SHA256 under the secret's key, the
 * base64-decoded part of `whsec_<base64>`. During a rotation a request carries one signature per secret,
 * space-separated, and a receiver accepts it when any matches.
 */

const PREFIX = 'whsec_';
/** 32 random bytes: within the specification's 24 to 64. */
const SECRET_BYTES = 32;

export function newSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** Why a secret cannot sign (undefined when it can): `whsec_` and base64 of 24 to 64 bytes. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith(PREFIX)) return 'expected "whsec_" followed by base64';
  const body = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return 'expected "whsec_" followed by base64';
  const bytes = Buffer.from(body, 'base64').length;
  if (bytes < 24 || bytes > 64) return `expected a key of 24 to 64 bytes, not ${bytes}`;
  return undefined;
}

const keyOf = (secret: string): Buffer => Buffer.from(secret.slice(PREFIX.length), 'base64');

/** The `webhook-signature` header's value: one `v1,<base64>` per secret, current first. */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`,
    )
    .join(' ');
}

/** The three headers of a request, signed now. */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  body: string,
  now = Date.now(),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, id, timestamp, body),
  };
}
