import http from 'node:http';
import axios from 'axios';
import { Worker } from 'bullmq';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { SEND_QUEUE, type SendJobData } from '../src/queue.js';
import { workerConnection } from '../src/redis/connection.js';
import { startSendWorker } from '../workers/send-worker.js';

/**
 * One measured worker process of the benchmark: `bare` (BullMQ with an empty processor), `naive` (a BullMQ
 * processor that only POSTs the message with axios over keep-alive sockets), or `wa-bulk` (the real worker,
 * every guarantee on). It processes `count` waiting jobs and reports jobs/s and its peak RSS over IPC.
 */
const [kind, countText] = process.argv.slice(2);
const count = Number(countText);
const config = loadConfig();

let done = 0;
let started = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
let resolveDone: () => void = () => {};
const finished = new Promise<void>((resolve) => (resolveDone = resolve));
// Timed (and CPU counted) from the first completed job to the last, so process start-up is not counted.
const tick = () => {
  if (done === 0) {
    started = performance.now();
    cpuAtStart = process.cpuUsage();
  }
  if (++done === count) resolveDone();
};

let close: () => Promise<void>;
let lateGrants = (): number | undefined => undefined;
if (kind === 'wa-bulk') {
  const worker = await startSendWorker(config, createLogger({ level: 'silent', pretty: false }));
  for (const laneWorker of worker.workers.values()) laneWorker.on('completed', tick);
  close = () => worker.close();
  lateGrants = () => worker.gateStats().lateGrants;
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.WORKER_CONCURRENCY });
  const client = axios.create({
    baseURL: config.ENGAGELAB_BASE_URL,
    auth: { username: config.ENGAGELAB_DEV_KEY ?? '', password: config.ENGAGELAB_DEV_SECRET ?? '' },
    httpAgent: agent,
  });
  const connection = workerConnection(config);
  const worker = new Worker<SendJobData>(
    SEND_QUEUE,
    kind === 'naive'
      ? async (job) => {
          await client.post('/v1/messages', job.data.payload);
        }
      : async () => {},
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    },
  );
  worker.on('completed', tick);
  close = async () => {
    await worker.close();
    agent.destroy();
    connection.disconnect();
  };
}

const report = () => {
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    kind,
    count: done,
    seconds,
    perSecond: done / seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuMsPerMessage: (cpu.user + cpu.system) / 1000 / Math.max(1, done),
    systemShare: cpu.system / Math.max(1, cpu.user + cpu.system),
    lateGrants: lateGrants(),
  };
};

// The limiter step stops its workers with SIGTERM: report what was done, and close cleanly so a
// --cpu-prof profile is written.
process.once('SIGTERM', () => {
  const figures = report();
  void close().then(() => process.send?.(figures, () => process.exit(0)));
});

await finished;
const figures = report();
await close();
process.send?.(figures);
