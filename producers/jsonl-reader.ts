import type { Readable } from 'node:stream';
import type { SourceItem } from './enqueue.js';
import { readLineBatches } from './lines.js';

/**
 * One JSON object per line, read as a stream (memory stays flat however large the file, or a line of it).
 * Blank lines are skipped; a line that is too long or not UTF-8 is reported by number (./lines.ts).
 */
export async function* readJsonl(input: Readable): AsyncGenerator<SourceItem> {
  for await (const batch of readLineBatches(input)) {
    for (const { line, text, error } of batch) {
      if (text === undefined) {
        yield { line, error: error ?? 'unreadable line' };
        continue;
      }
      const trimmed = text.trim();
      if (trimmed === '') continue;
      try {
        yield { line, value: JSON.parse(trimmed) };
      } catch (error) {
        yield { line, error: `not valid JSON (${(error as Error).message})` };
      }
    }
  }
}

/** The HTTP API's bodies: a JSON array (items numbered from 1) or NDJSON (lines numbered from 1). */
export function* itemsOfArray(values: unknown[]): Generator<SourceItem> {
  for (let i = 0; i < values.length; i++) yield { line: i + 1, value: values[i] };
}
