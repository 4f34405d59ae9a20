import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertEnqueueable } from '../../../producers/campaign-open.js';
import { enqueue, scan, type EnqueueSummary, type SourceItem } from '../../../producers/enqueue.js';
import { checkCsvOptions, readCsv, type CsvOptions } from '../../../producers/csv-reader.js';
import { readJsonl } from '../../../producers/jsonl-reader.js';
import { CampaignOptionError, FLAG_NAMES, campaignOptions } from '../../campaigns/options.js';
import { loadConfig } from '../../config.js';
import { preflightFromConfig, type Preflight } from '../../preflight/preflight.js';
import { CostTally, readRateCard } from '../../preflight/cost.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { ProgressLine, bar, fmt } from '../progress.js';
import { synopsis } from '../usage.js';
import { CHECK, ENQUEUE } from './enqueue.decl.js';

/** `enqueue`, and `check` (mode 'check': enqueue --dry-run with preflight, whatever the flags). */
export async function run(argv: string[], mode: 'enqueue' | 'check' = 'enqueue'): Promise<number> {
  const command = mode === 'check' ? CHECK : ENQUEUE;
  const { values, positionals } = parse(command, argv);
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(synopsis(command));
  const campaign = values.campaign;
  const format = values.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'jsonl');
  const csv: CsvOptions = { template: values.template, language: values.language, text: values.text };
  if (format === 'jsonl' && (values.template || values.text)) {
    // A CSV file named .txt (or stdin) is read as JSONL unless told: say so rather than blame the flags.
    if (values.format === undefined && !['.jsonl', '.ndjson', '.json'].includes(extname(file).toLowerCase()))
      throw new UsageError(
        `--template and --text apply to CSV files, and ${file === '-' ? 'stdin' : `"${file}"`} is read as JSONL (only a name ending in .csv is read as CSV): add --format csv`,
      );
    throw new UsageError('--template and --text apply to CSV files only');
  }
  if (format === 'csv') checkCsvOptions(csv);
  const { options: control, notes } = controlOf(values);
  const config = loadConfig();
  for (const note of notes) process.stderr.write(`wa-bulk: ${note}\n`);

  // --strict reads the input twice (validate everything, then enqueue), so stdin is kept in a temporary file.
  let path = file;
  const checking = mode === 'check';
  const dryRun = checking || values['dry-run'];
  const withPreflight = checking || !values['no-preflight'];
  // Read before anything else, so that a bad rate card stops the run before its work.
  const card = config.RATE_CARD_FILE ? readRateCard(config.RATE_CARD_FILE) : undefined;
  const cost = dryRun ? new CostTally() : undefined;
  let spool: string | undefined;
  if (file === '-' && (values.strict || withPreflight)) {
    spool = mkdtempSync(join(tmpdir(), 'wa-bulk-stdin-'));
    path = join(spool, 'input');
    await pipeline(process.stdin, createWriteStream(path));
  }
  let size = 0;
  if (path !== '-') {
    try {
      size = statSync(path).size;
    } catch {
      throw new UsageError(`cannot read ${path}: no such file`);
    }
  }
  const open = (): { stream: Readable; items: AsyncIterable<SourceItem> } => {
    const stream = path === '-' ? process.stdin : createReadStream(path);
    return { stream, items: format === 'csv' ? readCsv(stream, csv) : readJsonl(stream) };
  };

  try {
    return await withContext(async (ctx) => {
      // Before preflight, which may ask EngageLab: a cancelled campaign takes nothing.
      await assertEnqueueable(ctx.ledger, campaign);
      const progress = new ProgressLine();
      let preflight: Preflight | undefined;
      if (withPreflight) {
        preflight = preflightFromConfig(config, values.strict);
        await scan(open().items, preflight);
        for (const note of preflight.notes) process.stderr.write(`wa-bulk: ${note}\n`);
      }
      const input = open();
      const common = {
        preflight,
        onWarning: values.json
          ? undefined
          : (w: { line: number; warning: string }) => {
              progress.clear();
              process.stderr.write(`line ${w.line}: warning: ${w.warning}\n`);
            },
        campaign,
        ledger: ctx.ledger,
        queue: ctx.send,
        waFrom: config.WA_FROM,
        control,
        cost,
        rateCard: card,
        onReject: values.json
          ? undefined
          : (r: { line: number; error: string }) => {
              progress.clear();
              process.stderr.write(`line ${r.line}: ${r.error}\n`);
            },
      };
      if (values.strict) {
        const check = await enqueue(input.items, { ...common, dryRun: true, cost: undefined });
        if (check.rejected > 0) {
          report(
            { ...check, accepted: 0, duplicates: 0, duplicate_lines: undefined, suppressed: 0 },
            values.json,
            true,
          );
          return 1;
        }
      }
      const { stream, items } = values.strict ? open() : input;
      const summary = await enqueue(items, {
        ...common,
        dryRun,
        onProgress: (s: EnqueueSummary, lines: number) => {
          const read = (stream as { bytesRead?: number }).bytesRead;
          const rate = Math.round(lines / (progress.elapsedMs / 1000));
          const head = size > 0 && read !== undefined ? `${bar(read / size)} ` : '';
          progress.update(
            `${head}${fmt(lines)} lines  ${fmt(s.accepted)} accepted  ${fmt(s.rejected)} rejected  ${fmt(s.duplicates)} duplicates  ${fmt(rate)}/s`,
          );
        },
      });
      progress.done();
      if (cost) summary.cost = cost.summary(card, control?.notBefore ?? Date.now());
      report(summary, values.json, false, dryRun);
      return summary.rejected > 0 ? 1 : 0;
    }, config);
  } finally {
    if (spool) rmSync(spool, { recursive: true, force: true });
  }
}

function report(summary: EnqueueSummary, json: boolean, strictFailed: boolean, dryRun = false): void {
  if (json) {
    printJson(summary);
    return;
  }
  const verb = dryRun ? 'would enqueue' : 'enqueued';
  process.stdout.write(
    `campaign ${summary.campaign}: ${verb} ${fmt(summary.accepted)}, rejected ${fmt(summary.rejected)}, duplicates ${fmt(summary.duplicates)}` +
      `${summary.suppressed > 0 ? `, suppressed ${fmt(summary.suppressed)} (opted out)` : ''}` +
      `${strictFailed ? ' (--strict: nothing enqueued because of the rejected lines)' : ''}\n`,
  );
  const cost = summary.cost;
  if (!cost || cost.messages === 0) return;
  const counts = Object.entries(cost.by_country).flatMap(([country, cats]) =>
    Object.entries(cats).map(([category, n]) => `${country} ${category} ${fmt(n)}`),
  );
  process.stdout.write(`template messages: ${fmt(cost.messages)} (${counts.join(', ')})\n`);
  if (!cost.estimate) return;
  const totals = Object.entries(cost.estimate.total).map(([currency, amount]) => `${amount} ${currency}`);
  const unpriced = cost.estimate.unpriced.messages;
  process.stdout.write(
    `estimated cost at ${cost.estimate.at}: ${totals.join(' + ') || 'nothing priced'}` +
      `${unpriced > 0 ? ` (${fmt(unpriced)} unpriced: no rate for their market and category)` : ''}\n`,
  );
}

function controlOf(values: {
  at?: string;
  'send-window'?: string;
  'expires-in'?: string;
  'expires-at'?: string;
  priority?: string;
}) {
  try {
    return campaignOptions(
      {
        at: values.at,
        sendWindow: values['send-window'],
        expiresIn: values['expires-in'],
        expiresAt: values['expires-at'],
        priority: values.priority,
      },
      FLAG_NAMES,
    );
  } catch (error) {
    throw error instanceof CampaignOptionError ? new UsageError(error.message) : error;
  }
}
