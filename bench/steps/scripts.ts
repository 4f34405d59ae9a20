import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { payloadDigest } from '../../src/ledger/digest.js';
import { ledgerFor } from '../../src/ledger/index.js';
import { sendQueue, type SendJobData } from '../../src/queue.js';
import { keys } from '../../src/redis/keys.js';
import { gateOptions, SendGate, type GateRequest } from '../../workers/gate/send-gate.js';
import {
  commandStats,
  commandStatsSince,
  env,
  fill,
  flushRedis,
  redisInfo,
  type BenchContext,
  type CommandStat,
} from '../harness.js';

/**
 * wa-bulk's two scripts of every send, alone: `count` pending messages enqueued by the real producer, then
 * granted in asks of GRANT_BATCH through the worker's send gate (grant-sends.lua, the first ask's ledger
 * check included) and settled as sent in calls of SETTLE_BATCH through the ledger (settle-messages.lua), as
 * a worker does. Per message: Redis main-thread CPU (INFO's used_cpu_*_main_thread) and the commands the
 * script ran (INFO commandstats), for each of the two. No HTTP, no BullMQ: the figures are the scripts'.
 */

const GRANT_BATCH = 32;
const SETTLE_BATCH = 25;
/** A pace no grant ever waits for. */
const NO_PACE = 10_000_000;

export interface ScriptFigures {
  messages: number;
  /**
   * Script calls, Redis main-thread CPU µs (reading the arguments and writing the replies included), the
   * scripts' own run time in µs (INFO commandstats) and the commands they ran, per message.
   */
  calls_per_message: number;
  redis_cpu_us_per_message: number;
  script_us_per_message: number;
  commands_per_message: number;
  /** The commands by name, per message. */
  by_command: Record<string, number>;
}

export async function scriptsStep(bench: BenchContext, count: number, rounds: number) {
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    const run = await measureScripts(bench, count);
    runs.push(run);
    for (const [name, f] of Object.entries(run))
      bench.log(
        `scripts   ${name.padEnd(6)} ${f.messages} messages: ${f.redis_cpu_us_per_message} µs Redis CPU/msg ` +
          `(${f.script_us_per_message} µs in the script), ` +
          `${f.calls_per_message} calls/msg, ${f.commands_per_message} commands/msg ` +
          `(${Object.entries(f.by_command)
            .map(([command, n]) => `${command} ${n}`)
            .join(', ')})`,
      );
    await flushRedis(bench);
  }
  return runs;
}

async function measureScripts(
  bench: BenchContext,
  count: number,
): Promise<{ grant: ScriptFigures; settle: ScriptFigures }> {
  const prefix = bench.nextPrefix();
  await fill(bench, prefix, count);
  const config = loadConfig({ env: env(bench, { QUEUE_PREFIX: prefix }), dotEnvPath: false });
  const client = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  const queue = sendQueue(config, client);
  const jobs = (await queue.getJobs(['waiting', 'prioritized'], 0, -1)).map((job) => job.data as SendJobData);
  await queue.close();
  if (jobs.length !== count) throw new Error(`bench scripts: ${jobs.length} of ${count} jobs found`);
  const requests: GateRequest[] = jobs.map((data) => ({
    requestId: data.request_id,
    campaign: data.campaign,
    to: data.payload.to[0] ?? '',
    template: data.payload.body.type === 'template',
    expiresAt: data.expires_at,
    digest: payloadDigest(data.payload),
  }));
  // The worker's options, with a pace no grant waits for: the scripts are measured here, not the rate.
  const gate = new SendGate(client, keys(prefix), {
    ...gateOptions(config, 'default', 'bench-scripts'),
    max: NO_PACE,
    laneMax: NO_PACE,
    windowMs: 1000,
  });
  const check = config.AMBIGUOUS_OUTCOME === 'dead-letter' ? 'settled-or-inflight' : 'settled';
  const grant = await measured(bench, count, async () => {
    for (let i = 0; i < requests.length; i += GRANT_BATCH)
      await Promise.all(requests.slice(i, i + GRANT_BATCH).map((request) => gate.acquire(request, check)));
  });
  gate.close();
  const ledger = ledgerFor(config, client);
  const settle = await measured(bench, count, async () => {
    for (let i = 0; i < requests.length; i += SETTLE_BATCH) {
      const answers = await Promise.all(
        requests
          .slice(i, i + SETTLE_BATCH)
          .map((r) => ledger.markSent(r.requestId, r.campaign, `bench-${r.requestId}`)),
      );
      if (answers.some((answer) => answer !== 'changed')) throw new Error('bench scripts: a send was not settled');
    }
  });
  client.disconnect();
  return { grant, settle };
}

/** Redis's CPU and commands over `run`, per message (the bench's own INFO readings left out). */
async function measured(bench: BenchContext, count: number, run: () => Promise<void>): Promise<ScriptFigures> {
  const [cpuBefore, statsBefore] = [await redisInfo(bench), await commandStats(bench)];
  await run();
  const [cpuAfter, statsAfter] = [await redisInfo(bench), await commandStats(bench)];
  const ran = commandStatsSince(statsBefore, statsAfter);
  // The readings' own connections.
  for (const own of ['info', 'hello', 'client']) delete ran[own];
  const scriptCalls = (ran.evalsha?.calls ?? 0) + (ran.eval?.calls ?? 0);
  const scriptUsec = (ran.evalsha?.usec ?? 0) + (ran.eval?.usec ?? 0);
  const inner = Object.entries(ran).filter(([name]) => name !== 'evalsha' && name !== 'eval');
  const per = (n: number, digits = 3) => Number((n / count).toFixed(digits));
  return {
    messages: count,
    calls_per_message: per(scriptCalls),
    redis_cpu_us_per_message: per((cpuAfter.cpu - cpuBefore.cpu) * 1e6, 1),
    script_us_per_message: per(scriptUsec, 1),
    commands_per_message: per(
      inner.reduce((sum, [, s]: [string, CommandStat]) => sum + s.calls, 0),
      2,
    ),
    by_command: Object.fromEntries(
      inner.sort(([, a], [, b]) => b.calls - a.calls).map(([name, s]) => [name, per(s.calls, 2)]),
    ),
  };
}
