import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SourceItem } from './enqueue.js';

const MAX_LINE_CHARS = 1_000_000;

/** One JSON object per line, read as a stream (memory stays flat however large the file). Blank lines are skipped. */
export async function* readJsonl(input: Readable): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.length > MAX_LINE_CHARS) {
      yield { line, error: `line is longer than ${MAX_LINE_CHARS} characters` };
      continue;
    }
    const trimmed = text.trim();
    if (trimmed === '') continue;
    try {
      yield { line, value: JSON.parse(line === 1 ? trimmed.replace(/^\uFEFF/, '') : trimmed) };
    } catch (error) {
      yield { line, error: `not valid JSON (${(error as Error).message})` };
    }
  }
}

/** The HTTP API's bodies: a JSON array (items numbered from 1) or NDJSON (lines numbered from 1). */
export function* itemsOfArray(values: unknown[]): Generator<SourceItem> {
  for (let i = 0; i < values.length; i++) yield { line: i + 1, value: values[i] };
}
