import { UsageError } from '../src/usage-error.js';
import type { SourceItem } from './enqueue.js';
import type { Line } from './lines.js';

/**
 * A CSV file's lines grouped into records before csv-parse reads them, so that one broken record cannot take
 * the valid lines after it with it.
 *
 * A quoted field may span lines; a quote that is opened and never closed would make csv-parse read every
 * following line as part of that field, and a badly placed quote leaves it out of step with the lines after.
 * Here each record's quoting is checked on its own (RFC 4180, with spaces allowed around a quoted field, as
 * csv-parse's `trim` reads it). A record whose quoting is wrong, or whose quote is still open after
 * `maxBytes` or at the end of the input, is reported at the line it starts on, and the lines after that line
 * are read again as records of their own. csv-parse only ever sees well-formed records.
 *
 * Every line read becomes one line of the output (a reported one an empty line, which csv-parse skips), so
 * csv-parse's line numbers are the file's.
 */

type Quoting = 'closed' | 'open' | { bad: string };

/** How a line leaves the quoting it starts in (inside a quoted field or not). */
export function quoting(text: string, inQuote: boolean): Quoting {
  if (text.indexOf('"') === -1) return inQuote ? 'open' : 'closed';
  let quoted = inQuote;
  let atFieldStart = !inQuote;
  let closed = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') continue;
      if (text[i + 1] === '"') i++;
      else {
        quoted = false;
        closed = true;
      }
    } else if (c === ',') {
      atFieldStart = true;
      closed = false;
    } else if (c === ' ' || c === '\t') {
      continue;
    } else if (closed) {
      return { bad: `CSV: "${c}" after a closing quote (a quoted field ends at its quote, then a comma)` };
    } else if (c === '"') {
      if (!atFieldStart)
        return {
          bad: 'CSV: a quote inside an unquoted field (quote the whole field, doubling its quotes: "a ""b"" c")',
        };
      quoted = true;
      atFieldStart = false;
    } else {
      atFieldStart = false;
    }
  }
  return quoted ? 'open' : 'closed';
}

/**
 * The file's records as csv-parse's input, each line ending in "\n"; lines that cannot be read go to
 * `rejected`, and `starts` maps the last line of each record of several lines to its first (csv-parse names
 * a record by its last line).
 */
export async function* csvRecords(
  lines: AsyncIterable<Line>,
  rejected: SourceItem[],
  starts: Map<number, number>,
  maxBytes: number,
): AsyncGenerator<string> {
  const source = lines[Symbol.asyncIterator]();
  // Lines to read again after a record that spanned them was refused.
  let again: Line[] = [];
  let header = false;
  let record: Line[] = [];
  let bytes = 0;

  const reject = (line: number, error: string) => {
    // A file whose header cannot be read has no line that could be.
    if (!header) throw new UsageError(`CSV: the header (line ${line}) cannot be read: ${error.replace(/^CSV: /, '')}`);
    rejected.push({ line, error });
  };
  // Refuses the open record at its first line; the lines after it (and the one at hand) are read again.
  function refuse(error: string, current?: Line): string {
    const [first, ...rest] = record;
    record = [];
    bytes = 0;
    // (concat, not a spread: a record may hold very many short lines)
    again = rest.concat(current ? [current] : [], again);
    reject((first as Line).line, error);
    return '\n';
  }
  const unclosed = (why: string) =>
    `CSV: the quote opened on this line is not closed ${why} (the lines after it are read on their own)`;

  let done = false;
  for (;;) {
    let next = again.shift();
    if (!next && !done) {
      const read = await source.next();
      if (read.done) done = true;
      else next = read.value;
    }
    if (!next) {
      if (record.length === 0) break;
      yield refuse(unclosed('before the end of the input'));
      continue;
    }
    if (next.text === undefined) {
      if (record.length > 0) {
        yield refuse(unclosed(`before line ${next.line}, which cannot be read`), next);
        continue;
      }
      reject(next.line, next.error ?? 'unreadable line');
      yield '\n';
      continue;
    }
    const state = quoting(next.text, record.length > 0);
    if (typeof state === 'object') {
      if (record.length > 0)
        yield refuse(unclosed(`properly (line ${next.line}: ${state.bad.replace(/^CSV: /, '')})`), next);
      else {
        reject(next.line, state.bad);
        yield '\n';
      }
      continue;
    }
    if (state === 'open') {
      record.push(next);
      bytes += Buffer.byteLength(next.text) + 1;
      if (bytes > maxBytes) yield refuse(unclosed(`within ${maxBytes.toLocaleString('en-US')} bytes`));
      continue;
    }
    if (record.length > 0) {
      record.push(next);
      starts.set(next.line, (record[0] as Line).line);
      yield `${record.map((l) => l.text).join('\n')}\n`;
      header = true;
      record = [];
      bytes = 0;
    } else {
      if (next.text.trim() !== '') header = true;
      yield `${next.text}\n`;
    }
  }
}
