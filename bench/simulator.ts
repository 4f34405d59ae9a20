import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../src/dev/redis-server.js';

/**
 * How many requests per second the simulator answers on this machine at zero latency, so that it is
 * never the bottleneck of a benchmark. The simulator runs in its own process (as `wa-bulk simulator`);
 * this process drives it with keep-alive connections and valid template messages.
 *
 *   npm run bench:simulator -- [--seconds 10] [--connections 64] [--json]
 */

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, connections: { type: 'string' }, json: { type: 'boolean' } },
});
const seconds = Number(values.seconds ?? 10);
const connections = Number(values.connections ?? 64);

const port = await freePort();
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const simulator = fork(cli, ['simulator', '--port', String(port), '--key', 'bench', '--secret', 'bench'], {
  env: { PATH: process.env.PATH, LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
});
await new Promise<void>((resolve, reject) => {
  simulator.stderr?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
  simulator.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});

const body = JSON.stringify({
  to: ['447911123456'],
  body: {
    type: 'template',
    template: {
      name: 'order_update',
      language: 'en',
      components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ada' }] }],
    },
  },
  request_id: 'bench',
});
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const auth = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
let ok = 0;
let failed = 0;
const deadline = performance.now() + seconds * 1000;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/messages',
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: auth },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          resolve();
        });
      },
    );
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(body);
  });
}

const started = performance.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await one();
  }),
);
const elapsed = (performance.now() - started) / 1000;
agent.destroy();
simulator.kill('SIGTERM');
const result = {
  requests_per_second: Math.round(ok / elapsed),
  requests: ok,
  failed,
  seconds: Number(elapsed.toFixed(2)),
  connections,
};
if (values.json) console.log(JSON.stringify(result));
else
  console.log(
    `simulator: ${result.requests_per_second.toLocaleString('en-US')} requests/s at 0 ms latency (${ok} answered 200, ${failed} failed, ${connections} connections, ${result.seconds} s)`,
  );
