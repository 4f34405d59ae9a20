import { Transform, type Readable } from 'node:stream';
import express from 'express';

/** Request bodies are read here, each under a byte limit that is checked while they stream in. */

export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A body that cannot be taken: too large (413) or not what it must be (400). */
export class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    message: string,
    readonly status: 400 | 413,
  ) {
    super(message);
  }
}

const MIB = 1024 * 1024;

/** A size in words: whole mebibytes as such (`16 MiB`), anything else in bytes. */
export function sizeText(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}

/** The answer for a body over `limit` bytes. */
export function tooLarge(what: string, limit: number): BodyError {
  return new BodyError(`${what} is larger than ${sizeText(limit)}; split it into several requests`, 413);
}

/** Passes a request body through, failing once it is larger than `limit` bytes. */
export function limited(stream: Readable, limit: number, what = 'request body'): Readable {
  let size = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > limit) callback(tooLarge(what, limit));
      else callback(null, chunk);
    },
  });
  stream.on('error', (error) => guard.destroy(error));
  return stream.pipe(guard);
}

/** The whole body as text, at most `limit` bytes (else a BodyError). */
export async function readBody(stream: Readable, limit: number, what?: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of limited(stream, limit, what)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole body parsed as JSON, at most `limit` bytes (else a BodyError). */
export async function readJson(stream: Readable, limit: number, what?: string): Promise<unknown> {
  const text = await readBody(stream, limit, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BodyError(`body is not valid JSON (${(error as Error).message})`, 400);
  }
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The small JSON bodies of the control routes (at most 1 MB), parsed by Express. */
export const smallJson: express.RequestHandler = express.json({ limit: '1mb' });
