import { isUtf8 } from 'node:buffer';
import { UsageError } from '../src/usage-error.js';

/**
 * The input files' lines, read from their bytes: the one place where an input's encoding and size are
 * checked, for both readers (JSONL, CSV).
 *
 * - A line ends at "\n", "\r\n" or "\r"; lines count from 1.
 * - A line of more than MAX_LINE_BYTES is not held in memory: its bytes are dropped as they come, and it is
 *   reported by number; the next line is read as usual.
 * - A line that is not valid UTF-8 is reported by number (not decoded with replacement characters, which
 *   would send a mangled message); the others are read as usual.
 * - An input in UTF-16 or UTF-32 (a byte-order mark, or NUL bytes at its start) is refused as a whole: none
 *   of its lines could be read.
 */

/** The most bytes one line may hold (one message needs far less: a text body is at most 4,096 characters). */
export const MAX_LINE_BYTES = 1_000_000;

/** One line: its text (without its end), or why it cannot be read. */
export interface Line {
  line: number;
  text?: string;
  error?: string;
}

const LF = 0x0a;
const CR = 0x0d;
/** Bytes looked at to tell UTF-16 or UTF-32 without a byte-order mark. */
const HEAD_BYTES = 64;

export const NOT_UTF8 = 'not valid UTF-8 (save the file as UTF-8)';

export function tooLong(limit: number): string {
  return `longer than ${limit.toLocaleString('en-US')} bytes, the most one line may hold`;
}

/** The encoding of an input that starts with these bytes, when it is one that cannot be UTF-8. */
export function wideEncoding(head: Buffer): string | undefined {
  if (head[0] === 0xff && head[1] === 0xfe) return head[2] === 0 && head[3] === 0 ? 'UTF-32LE' : 'UTF-16LE';
  if (head[0] === 0xfe && head[1] === 0xff) return 'UTF-16BE';
  if (head[0] === 0 && head[1] === 0 && head[2] === 0xfe && head[3] === 0xff) return 'UTF-32BE';
  // Text in UTF-16 without a mark: ASCII characters come with a NUL byte each. UTF-8 text has none.
  const n = Math.min(head.length, HEAD_BYTES);
  let nuls = 0;
  for (let i = 0; i < n; i++) if (head[i] === 0) nuls++;
  if (n >= 4 && nuls * 4 >= n) return head[0] === 0 ? 'UTF-16BE' : 'UTF-16LE';
  return undefined;
}

/** The input's lines (see above), one at a time. */
export async function* readLines(
  input: AsyncIterable<Buffer | string>,
  maxBytes = MAX_LINE_BYTES,
): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(input, maxBytes)) yield* batch;
}

/** The input's lines, as many at a time as each chunk read holds (cheaper than one by one). */
export async function* readLineBatches(
  input: AsyncIterable<Buffer | string>,
  maxBytes = MAX_LINE_BYTES,
): AsyncGenerator<Line[]> {
  let number = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let over = false;
  let head: Buffer | undefined = Buffer.alloc(0);
  let out: Line[] = [];

  const end = () => {
    const wasOver = over;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
    parts = [];
    size = 0;
    over = false;
    number++;
    if (wasOver) {
      out.push({ line: number, error: tooLong(maxBytes) });
      return;
    }
    // A lone "\r" ends a line too (old Mac files); "\r\n" was cut at its "\n".
    let from = 0;
    let cr = bytes.indexOf(CR);
    while (cr !== -1 && cr !== bytes.length - 1) {
      out.push(decode(number, bytes.subarray(from, cr)));
      number++;
      from = cr + 1;
      cr = bytes.indexOf(CR, from);
    }
    out.push(decode(number, bytes.subarray(from, cr === -1 ? bytes.length : cr)));
  };

  const add = (piece: Buffer) => {
    if (over || piece.length === 0) return;
    if (size + piece.length > maxBytes) {
      over = true;
      parts = [];
      return;
    }
    parts.push(piece);
    size += piece.length;
  };

  const split = (chunk: Buffer): Line[] => {
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, start)) {
      add(chunk.subarray(start, lf));
      end();
      start = lf + 1;
    }
    add(chunk.subarray(start));
    const lines = out;
    out = [];
    return lines;
  };

  for await (const data of input) {
    let chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (head) {
      head = Buffer.concat([head, chunk]);
      if (head.length < HEAD_BYTES) continue;
      refuseWide(head);
      chunk = head;
      head = undefined;
    }
    const lines = split(chunk);
    if (lines.length > 0) yield lines;
  }
  if (head) {
    refuseWide(head);
    yield split(head);
  }
  if (size > 0 || over) {
    end();
    yield out;
  }
}
function refuseWide(head: Buffer): void {
  const encoding = wideEncoding(head);
  if (encoding)
    throw new UsageError(
      `the input is ${encoding}, not UTF-8: nothing was read (save the file as UTF-8 and enqueue it again)`,
    );
}

function decode(line: number, bytes: Buffer): Line {
  if (!isUtf8(bytes)) return { line, error: NOT_UTF8 };
  const text = bytes.toString('utf8');
  // A byte-order mark is allowed at the start of the input only.
  return { line, text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}
