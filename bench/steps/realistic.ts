import { loadavg } from 'node:os';
import {
  child,
  commandStats,
  commandStatsSince,
  fill,
  flushRedis,
  redisInfo,
  sleep,
  startSimulator,
  UNLIMITED,
  workerEnv,
  type BenchContext,
  type CommandStat,
  type WorkerResult,
} from '../harness.js';
import { tapSlowLog, topPerMessage, type TapEntry } from '../redis-breakdown.js';

/**
 * A campaign as a business sends one: 20 ms of API latency, 100 requests in flight, four sending numbers
 * (lanes), and a mix of templates with parameters (some with an image header), media with captions and text.
 * The naive peer, bare BullMQ and the wa-bulk worker take the same jobs in turn, `rounds` times, each in its own
 * process: msgs/s beside the ceiling (in flight ÷ latency), CPU per message, Redis main-thread time per
 * message, and the Redis bytes a settled message leaves. Then, once at 0 ms and once at 20 ms, bare BullMQ and
 * wa-bulk with Redis's slow log keeping every command: the Redis time per message by command and script.
 */

const LATENCY_MS = 20;
const IN_FLIGHT = 100;
const LANES = ['447911123401', '447911123402', '447911123403', '447911123404'];
const KINDS = ['naive', 'bare', 'wa-bulk'] as const;

/** Six in ten templates (half of them with an image header), two in ten media, two in ten text. */
export function realisticMessage(i: number, from?: string): object {
  const to = `+4479${String(20_000_000 + i).padStart(8, '0')}`;
  const custom_args = { order: i, segment: ['new', 'returning', 'lapsed'][i % 3] };
  const kind = i % 10;
  if (kind < 6) {
    const header =
      kind % 2 === 0
        ? [
            {
              type: 'header',
              parameters: [{ type: 'image', image: { link: `https://cdn.example.com/offers/banner-${i % 7}.jpg` } }],
            },
          ]
        : [];
    return {
      ...(from !== undefined && { from }),
      to,
      body: {
        type: 'template',
        template: {
          name: kind % 2 === 0 ? 'spring_offer' : 'order_update',
          language: 'en_GB',
          components: [
            ...header,
            {
              type: 'body',
              parameters: [
                { type: 'text', text: `Customer ${i}` },
                { type: 'text', text: `#A${String(100_000 + i)}` },
                { type: 'currency', currency: { fallback_value: '£12.50', code: 'GBP', amount_1000: 12_500 } },
                { type: 'date_time', date_time: { fallback_value: 'Friday 12 December', timestamp: 1_765_497_600 } },
              ],
            },
            { type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: `track/${i}` }] },
          ],
        },
      },
      custom_args,
    };
  }
  if (kind < 8)
    return {
      ...(from !== undefined && { from }),
      to,
      body:
        kind === 6
          ? {
              type: 'image',
              image: {
                link: `https://cdn.example.com/catalogue/item-${i % 50}.jpg`,
                caption: `New in: item ${i % 50}`,
              },
            }
          : {
              type: 'document',
              document: { link: 'https://cdn.example.com/terms-2026.pdf', filename: 'terms-2026.pdf' },
            },
      custom_args,
    };
  return {
    ...(from !== undefined && { from }),
    to,
    body: { type: 'text', text: { body: `Hello ${i}, your parcel is on its way. Reply STOP to opt out.` } },
    custom_args,
  };
}

interface Measured {
  result: WorkerResult;
  redisUsPerMessage: number;
  bytesPerMessage: number;
  /** INFO commandstats over the worker's run, which counts every script call as one evalsha. */
  commands: Record<string, CommandStat>;
  /** With the slow log tapped: Redis's time by command and script. */
  totals?: Map<string, TapEntry> | undefined;
}

/** One kind's run over `jobs` fresh jobs at `latencyMs`; `tapped`: Redis's time by script too. */
async function measure(
  bench: BenchContext,
  kind: string,
  latencyMs: number,
  jobs: number,
  tapped = false,
): Promise<Measured> {
  const prefix = bench.nextPrefix();
  const empty = await redisInfo(bench);
  await fill(bench, prefix, jobs, LANES, realisticMessage);
  const filled = await redisInfo(bench);
  // Started once the jobs are in, so a fill that fails leaves no simulator behind.
  const sim = await startSimulator(latencyMs);
  const statsBefore = await commandStats(bench);
  const tap = tapped ? await tapSlowLog(bench) : undefined;
  const { result } = child<WorkerResult>(
    'worker-child.js',
    [kind, String(jobs), LANES.join(',')],
    workerEnv(bench, { prefix, simulator: sim.url, concurrency: IN_FLIGHT, rate: UNLIMITED }),
  );
  const measured = await result;
  sim.stop();
  // Redis's time is read as soon as the worker has reported (so Redis's idle seconds below are not counted);
  // its bytes once the last ledger writes have landed and the pair-interval keys (6 s) have expired.
  const worked = await redisInfo(bench);
  const totals = await tap?.stop();
  const statsAfter = await commandStats(bench);
  await sleep(kind === 'wa-bulk' ? 6500 : 300);
  const done = await redisInfo(bench);
  return {
    result: measured,
    redisUsPerMessage: ((worked.cpu - filled.cpu) / jobs) * 1e6,
    bytesPerMessage: (done.memory - empty.memory) / jobs,
    commands: commandStatsSince(statsBefore, statsAfter),
    totals,
  };
}

const load = () => Number(loadavg()[0]?.toFixed(2));
const ratio = (a: number, b: number) => Number((a / (b || 1)).toFixed(2));
const callsPerMessage = (m: Measured, jobs: number) =>
  Object.values(m.commands).reduce((n, c) => n + c.calls, 0) / jobs;

/** A kind's figures in the report. */
function figures(kind: string, m: Measured, jobs: number, ceiling: number) {
  const rate = Math.round(m.result.perSecond);
  return {
    per_second: rate,
    // Bare BullMQ makes no request: the ceiling is not its.
    ...(kind !== 'bare' && { of_ceiling: ratio(rate, ceiling) }),
    cpu_ms_per_message: Number(m.result.cpuMsPerMessage.toFixed(3)),
    redis_us_per_message: Math.round(m.redisUsPerMessage),
    // Bare and naive remove their jobs and never write the ledger the producer filled: only wa-bulk's settled
    // messages are measured.
    ...(kind === 'wa-bulk' && { redis_bytes_per_settled_message: Math.round(m.bytesPerMessage) }),
    // Grants handed back because the request left too late after them (each is asked for again).
    ...(kind === 'wa-bulk' && { late_grants: m.result.lateGrants ?? 0 }),
    // Late grants given again for their new time (one short call) instead of handed back.
    ...(kind === 'wa-bulk' && { regranted_grants: m.result.regrantedGrants ?? 0 }),
    redis_calls_per_message: Number(callsPerMessage(m, jobs).toFixed(2)),
    redis_commands: Object.entries(m.commands)
      .sort(([, a], [, b]) => b.usec - a.usec)
      .slice(0, 8)
      .map(([name, c]) => ({
        name,
        us_per_message: Number((c.usec / jobs).toFixed(1)),
        calls_per_message: Number((c.calls / jobs).toFixed(3)),
      })),
  };
}

export async function realisticStep(bench: BenchContext, jobs: number, rounds: number) {
  const ceiling = Math.round(IN_FLIGHT / (LATENCY_MS / 1000));
  bench.log(
    `realistic ${jobs.toLocaleString('en-US')} jobs each, ${LATENCY_MS} ms latency, ${IN_FLIGHT} in flight (ceiling ${ceiling.toLocaleString('en-US')}/s), ${LANES.length} lanes, templates + media + text, ${rounds} round${rounds > 1 ? 's' : ''}`,
  );
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    const row: Record<string, unknown> = { load_before: load() };
    const measured: Record<string, Measured> = {};
    for (const kind of KINDS) {
      const m = await measure(bench, kind, LATENCY_MS, jobs);
      await flushRedis(bench);
      measured[kind] = m;
      row[kind] = figures(kind, m, jobs, ceiling);
      const rate = Math.round(m.result.perSecond);
      bench.log(
        `  round ${round} ${kind.padEnd(8)} ${rate.toLocaleString('en-US').padStart(6)} msgs/s ${kind === 'bare' ? '(no request)' : `of ${ceiling.toLocaleString('en-US')} (${ratio(rate, ceiling)})`}, ` +
          `${m.result.cpuMsPerMessage.toFixed(2)} ms CPU/msg, Redis ${Math.round(m.redisUsPerMessage)} µs/msg in ${callsPerMessage(m, jobs).toFixed(1)} calls` +
          `${kind === 'wa-bulk' ? `, ${Math.round(m.bytesPerMessage)} B/msg left, ${m.result.lateGrants ?? 0} late grants handed back, ${m.result.regrantedGrants ?? 0} given again` : ''} (load ${load()})`,
      );
    }
    const [naive, bare, wa] = [measured.naive, measured.bare, measured['wa-bulk']] as [Measured, Measured, Measured];
    row.ratio_wa_bulk_to_naive = ratio(wa.result.perSecond, naive.result.perSecond);
    row.ratio_cpu_wa_bulk_to_naive = ratio(wa.result.cpuMsPerMessage, naive.result.cpuMsPerMessage);
    row.ratio_redis_wa_bulk_to_bare = ratio(wa.redisUsPerMessage, bare.redisUsPerMessage);
    row.load_after = load();
    bench.log(
      `  round ${round}: wa-bulk / naive ${row.ratio_wa_bulk_to_naive} msgs/s, ${row.ratio_cpu_wa_bulk_to_naive} CPU/msg; Redis wa-bulk / bare ${row.ratio_redis_wa_bulk_to_bare}`,
    );
    runs.push(row);
  }
  return {
    latency_ms: LATENCY_MS,
    in_flight: IN_FLIGHT,
    ceiling,
    lanes: LANES.length,
    jobs,
    rounds: runs,
    breakdown: await breakdown(bench, jobs),
  };
}

/**
 * Bare BullMQ and wa-bulk at 0 and 20 ms with every command in the slow log: Redis µs per message by command
 * and script, and inside the costliest scripts.
 */
async function breakdown(bench: BenchContext, jobs: number) {
  const out: Record<string, unknown> = {};
  for (const [kind, latency] of [
    ['bare', 0],
    ['wa-bulk', 0],
    ['bare', LATENCY_MS],
    ['wa-bulk', LATENCY_MS],
  ] as const) {
    const m = await measure(bench, kind, latency, jobs, true);
    await flushRedis(bench);
    const totals = m.totals ?? new Map<string, TapEntry>();
    const top = topPerMessage(totals, jobs);
    const all = [...totals].reduce((n, [name, t]) => (name.includes(' > ') ? n : n + t.usec), 0) / jobs;
    // What the three costliest scripts spend their time on, command by command.
    const scripts = top.filter((t) => t.name.startsWith('bullmq:') || t.name.startsWith('wa')).slice(0, 3);
    const inside = Object.fromEntries(scripts.map((t) => [t.name, topPerMessage(totals, jobs, 10, t.name)]));
    out[`${kind}_latency_${latency}ms`] = {
      // The slow log's durations are wall time: on a busy machine they include the moments Redis waited for a
      // core. Their shares, applied to Redis's CPU per message, give each command's CPU.
      us_per_message_in_commands: Number(all.toFixed(1)),
      redis_cpu_us_per_message: Math.round(m.redisUsPerMessage),
      ...(kind === 'wa-bulk' && { late_grants: m.result.lateGrants ?? 0 }),
      per_second: Math.round(m.result.perSecond),
      load: load(),
      top,
      inside,
    };
    bench.log(
      `  breakdown, ${kind} at ${latency} ms: ${all.toFixed(1)} µs/msg inside commands, wall time (Redis CPU ${Math.round(m.redisUsPerMessage)} µs/msg with the slow log on${kind === 'wa-bulk' ? `, ${m.result.lateGrants ?? 0} late grants` : ''}; load ${load()})`,
    );
    for (const t of top)
      bench.log(
        `    ${t.name.padEnd(34)} ${String(t.us_per_message).padStart(6)} µs/msg  ${String(t.calls_per_message).padStart(6)} calls/msg  ${String(t.us_per_call).padStart(6)} µs/call`,
      );
    for (const [script, calls] of Object.entries(inside))
      bench.log(
        `    inside ${script}: ${calls.map((c) => `${c.name} ${c.us_per_message} µs/msg (${c.calls_per_message} calls)`).join(', ')}`,
      );
  }
  return out;
}
