import http from 'node:http';
import axios from 'axios';
import { Worker } from 'bullmq';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { SEND_QUEUE, laneQueueName, type SendJobData } from '../src/queue.js';
import { workerConnection } from '../src/redis/connection.js';
import { startSendWorker } from '../workers/send-worker.js';

/**
 * One measured worker process of the benchmark: `bare` (BullMQ with an empty processor), `naive` (a BullMQ
 * processor that only POSTs the message with axios over keep-alive sockets), or `wa-bulk` (the real worker,
 * every guarantee on). It processes `count` waiting jobs (of the lanes given, for bare and naive) and reports jobs/s and its peak RSS over IPC.
 */
const [kind, countText, lanesText] = process.argv.slice(2);
// The sending numbers whose queues a bare or naive worker takes jobs from, one Worker each as wa-bulk has
// (each with WORKER_CONCURRENCY jobs at once, the requests sharing one pool of that many sockets); none: the
// default queue only.
const queues = lanesText ? lanesText.split(',').map((lane) => laneQueueName(lane)) : [SEND_QUEUE];
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
let regrantedGrants = (): number | undefined => undefined;
if (kind === 'wa-bulk') {
  const worker = await startSendWorker(config, createLogger({ level: 'silent', pretty: false }));
  for (const laneWorker of worker.workers.values()) laneWorker.on('completed', tick);
  close = () => worker.close();
  lateGrants = () => worker.gateStats().lateGrants;
  regrantedGrants = () => worker.gateStats().regrantedGrants;
} else {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.WORKER_CONCURRENCY });
  const client = axios.create({
    baseURL: config.ENGAGELAB_BASE_URL,
    auth: { username: config.ENGAGELAB_DEV_KEY ?? '', password: config.ENGAGELAB_DEV_SECRET ?? '' },
    httpAgent: agent,
  });
  const connection = workerConnection(config);
  const workers = queues.map(
    (queue) =>
      new Worker<SendJobData>(
        queue,
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
      ),
  );
  for (const worker of workers) worker.on('completed', tick);
  close = async () => {
    await Promise.all(workers.map((worker) => worker.close()));
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
    regrantedGrants: regrantedGrants(),
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
