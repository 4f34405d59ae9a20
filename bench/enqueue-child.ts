import { createReadStream } from 'node:fs';
import { enqueue } from '../producers/enqueue.js';
import { readJsonl } from '../producers/jsonl-reader.js';
import { openContext } from '../src/cli/context.js';
import { loadConfig } from '../src/config.js';

/** The enqueue step of the benchmark in a process of its own, so its peak RSS is its own. */
const [file, campaign] = process.argv.slice(2);
const ctx = await openContext(loadConfig());
const started = performance.now();
const summary = await enqueue(readJsonl(createReadStream(file as string)), {
  campaign: campaign as string,
  ledger: ctx.ledger,
  queue: ctx.send,
});
const seconds = (performance.now() - started) / 1000;
await ctx.close();
process.send?.({
  accepted: summary.accepted,
  rejected: summary.rejected,
  seconds,
  perSecond: summary.accepted / seconds,
  maxRssMb: process.resourceUsage().maxRSS / 1024,
});
