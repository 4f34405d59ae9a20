import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { templateSchema } from '../src/messages/schema.js';
import { formatIssues, messageErrors } from '../src/messages/validate.js';
import { UsageError } from '../src/usage-error.js';
import { csvRecords } from './csv-records.js';
import type { SourceItem } from './enqueue.js';
import { MAX_LINE_BYTES, readLines } from './lines.js';

/**
 * CSV campaigns (docs/campaigns.md; example: examples/campaign.csv):
 *
 *   to                     required: the recipient
 *   request_id, from       optional
 *   arg_<name>             optional: custom_args.<name> (echoed back in delivery callbacks)
 *
 * With `--template NAME --language CODE`:
 *   body_1 … body_N        body text parameters, in order
 *   header_text            a text header parameter
 *   header_image | header_video | header_document   a media header, by link (header_filename names a document)
 *   button_url_<i>         the text parameter of URL button i (authentication templates repeat the code here)
 *   button_quick_reply_<i> the payload of quick-reply button i
 *   button_copy_code_<i>   the coupon code of copy-code button i
 *
 * With `--text "Hello {{name}}"`: the text with each {{column}} replaced by that row's value.
 * Any other column is an error, so a misspelt header cannot silently drop data; so are a column named twice
 * and a gap in body_1 … body_N (either would put a value in the wrong place or lose it).
 */

export interface CsvOptions {
  template?: string | undefined;
  language?: string | undefined;
  text?: string | undefined;
}

const BASE = new Set(['to', 'request_id', 'from']);
const TEMPLATE_COLUMN =
  /^(body_[1-9][0-9]*|header_text|header_image|header_video|header_document|header_filename|button_(url|quick_reply|copy_code)_[0-9])$/;

type Row = Record<string, string>;

/**
 * The flags, once, before any line: a wrong --language would otherwise be every line's reject. Its rules are
 * the message schema's.
 */
export function checkCsvOptions(options: CsvOptions): void {
  if ((options.template === undefined) === (options.text === undefined)) {
    throw new UsageError('CSV campaigns need either --template NAME --language CODE or --text "…"');
  }
  if (options.template === undefined) return;
  if (options.language === undefined) throw new UsageError('--template needs --language CODE');
  const name = templateSchema.shape.name.safeParse(options.template, { error: messageErrors });
  if (!name.success) throw new UsageError(`--template: "${options.template}" ${formatIssues(name.error.issues)}`);
  const language = templateSchema.shape.language.safeParse(options.language, { error: messageErrors });
  if (!language.success) throw new UsageError(`--language: ${formatIssues(language.error.issues)}`);
}

export function checkColumns(columns: string[], options: CsvOptions): void {
  checkCsvOptions(options);
  if (!columns.includes('to')) {
    // A spreadsheet saved with ";" between fields reads as one column named "to;…".
    if (columns.length === 1 && columns[0]?.includes(';'))
      throw new UsageError(
        'CSV: the header seems to use ";" as separator; wa-bulk reads comma-separated files (a header like "to,body_1,body_2")',
      );
    throw new UsageError('CSV: the header has no "to" column');
  }
  const placeholders = options.text
    ? [...options.text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1] as string)
    : [];
  for (const name of placeholders) {
    if (!columns.includes(name)) throw new UsageError(`--text uses {{${name}}} but the CSV has no column "${name}"`);
  }
  const repeated = columns.find((column, i) => columns.indexOf(column) !== i);
  if (repeated !== undefined) throw new UsageError(`CSV: the header has the column "${repeated}" twice`);
  // body_N are the template's {{N}} in order: a missing one would shift every later value into its place.
  if (options.template !== undefined) {
    const bodies = columns.filter((c) => /^body_[1-9][0-9]*$/.test(c)).map((c) => Number(c.slice(5)));
    const last = Math.max(0, ...bodies);
    for (let n = 1; n < last; n++)
      if (!bodies.includes(n))
        throw new UsageError(
          `CSV: the header has body_${last} but no body_${n} (body parameters are numbered from body_1, without gaps)`,
        );
  }
  for (const column of columns) {
    if (BASE.has(column) || column.startsWith('arg_')) continue;
    if (options.template !== undefined && TEMPLATE_COLUMN.test(column)) continue;
    if (options.text !== undefined && placeholders.includes(column)) continue;
    throw new UsageError(`CSV: unknown column "${column}" (see "CSV campaigns" in docs/campaigns.md)`);
  }
}

function textParameter(text: string) {
  return { type: 'text', text };
}

export function rowToMessage(row: Row, options: CsvOptions): Record<string, unknown> {
  const message: Record<string, unknown> = { to: row.to ?? '' };
  if (row.request_id) message.request_id = row.request_id;
  if (row.from) message.from = row.from;
  const args: Record<string, string> = {};
  for (const [column, value] of Object.entries(row))
    if (column.startsWith('arg_') && value !== '') args[column.slice(4)] = value;
  if (Object.keys(args).length > 0) message.custom_args = args;

  if (options.text !== undefined) {
    const body = options.text.replace(/\{\{\s*([^}\s]+)\s*\}\}/g, (_, name: string) => row[name] ?? '');
    message.body = { type: 'text', text: { body } };
    return message;
  }

  const components: Array<Record<string, unknown>> = [];
  const header = ['image', 'video', 'document'].find((type) => row[`header_${type}`]);
  if (header) {
    const media: Record<string, string> = { link: row[`header_${header}`] as string };
    if (header === 'document' && row.header_filename) media.filename = row.header_filename;
    components.push({ type: 'header', parameters: [{ type: header, [header]: media }] });
  } else if (row.header_text) {
    components.push({ type: 'header', parameters: [textParameter(row.header_text)] });
  }
  const bodyColumns = Object.keys(row)
    .filter((c) => /^body_\d+$/.test(c))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  if (bodyColumns.length > 0)
    components.push({ type: 'body', parameters: bodyColumns.map((c) => textParameter(row[c] ?? '')) });
  for (const column of Object.keys(row).sort()) {
    const match = /^button_(url|quick_reply|copy_code)_(\d)$/.exec(column);
    if (!match || row[column] === '') continue;
    const [, subType, index] = match as unknown as [string, string, string];
    const value = row[column] as string;
    const parameter =
      subType === 'quick_reply'
        ? { type: 'payload', payload: value }
        : subType === 'copy_code'
          ? { type: 'coupon_code', coupon_code: value }
          : textParameter(value);
    components.push({ type: 'button', sub_type: subType, index: Number(index), parameters: [parameter] });
  }
  message.body = {
    type: 'template',
    template: { name: options.template, language: options.language, ...(components.length > 0 && { components }) },
  };
  return message;
}

/**
 * Streams CSV records as messages. A line that cannot be read (too long, not UTF-8, its quoting broken) is
 * reported with its number and the lines after it are read as usual (./lines.ts, ./csv-records.ts).
 */
export async function* readCsv(input: Readable, options: CsvOptions): AsyncGenerator<SourceItem> {
  const skipped: SourceItem[] = [];
  const starts = new Map<number, number>();
  // A record's line: the one it starts on.
  const lineOf = (last: number) => {
    const first = starts.get(last);
    if (first === undefined) return last;
    starts.delete(last);
    return first;
  };
  const records = Readable.from(csvRecords(readLines(input, MAX_LINE_BYTES), skipped, starts, MAX_LINE_BYTES));
  const parser = records.pipe(
    parse({
      columns: (header: string[]) => {
        const columns = header.map((c) => c.trim());
        checkColumns(columns, options);
        return columns;
      },
      trim: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // csvRecords bounds a record already; this is csv-parse's own bound, in characters.
      max_record_size: MAX_LINE_BYTES,
      info: true,
      on_skip: (error) => {
        const line = (error as { lines?: number } | undefined)?.lines ?? 0;
        skipped.push({ line: lineOf(line), error: `CSV: ${error?.message ?? 'unreadable record'}` });
        return undefined;
      },
    }),
  );
  records.on('error', (error) => parser.destroy(error));
  for await (const entry of parser as AsyncIterable<{ record: Row; info: { lines: number } }>) {
    const line = lineOf(entry.info.lines);
    // The readers run ahead of us: report unreadable lines in line order.
    skipped.sort((a, b) => a.line - b.line);
    while (skipped.length > 0 && (skipped[0] as SourceItem).line < line) yield skipped.shift() as SourceItem;
    yield { line, value: rowToMessage(entry.record, options) };
  }
  skipped.sort((a, b) => a.line - b.line);
  while (skipped.length > 0) yield skipped.shift() as SourceItem;
}
