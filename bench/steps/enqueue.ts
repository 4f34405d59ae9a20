import { rmSync } from 'node:fs';
import { child, env, flushRedis, writeCampaign, type BenchContext } from '../harness.js';

/** What enqueue-child.js reports over IPC. */
interface EnqueueResult {
  accepted: number;
  seconds: number;
  perSecond: number;
  maxRssMb: number;
}

/**
 * `messages` JSONL messages through the producer (parse, validate, request_id, dedupe, ledger + job)
 * in a process of its own: msgs/s and its peak RSS.
 */
export async function enqueueStep(bench: BenchContext, messages: number) {
  const file = await writeCampaign(bench, messages);
  const enq = await child<EnqueueResult>(
    'enqueue-child.js',
    [file, 'bench'],
    env(bench, { QUEUE_PREFIX: bench.nextPrefix() }),
  ).result;
  const section = {
    messages,
    accepted: enq.accepted,
    per_second: Math.round(enq.perSecond),
    seconds: Number(enq.seconds.toFixed(2)),
    peak_rss_mb: Math.round(enq.maxRssMb),
  };
  bench.log(
    `enqueue   ${messages.toLocaleString('en-US')} messages: ${Math.round(enq.perSecond).toLocaleString('en-US')} msgs/s, peak RSS ${Math.round(enq.maxRssMb)} MB`,
  );
  rmSync(file);
  await flushRedis(bench);
  return section;
}
