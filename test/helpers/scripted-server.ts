import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  body?: unknown;
  /** Raw text body (e.g. an HTML error page). */
  raw?: string;
  headers?: Record<string, string>;
  /** Never answer (for timeouts). */
  hang?: boolean;
  /** Destroy the socket once the request has arrived. */
  reset?: boolean;
}

export interface ScriptedServer {
  url: string;
  calls: Array<{
    method: string;
    url: string;
    authorization: string | undefined;
    contentType: string | undefined;
    body: string;
    at: number;
  }>;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A local HTTP server answering each request with the next reply of a script (the last one repeats). */
export async function scriptedServer(script: Reply[] | ((call: number) => Reply)): Promise<ScriptedServer> {
  const calls: ScriptedServer['calls'] = [];
  const next = (i: number): Reply =>
    typeof script === 'function' ? script(i) : (script[Math.min(i, script.length - 1)] ?? { status: 200 });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = calls.length;
      calls.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      });
      const reply = next(index);
      if (reply.hang) return;
      if (reply.reset) {
        req.socket.destroy();
        return;
      }
      const text = reply.raw ?? JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status ?? 200, {
        'Content-Type': reply.raw ? 'text/html' : 'application/json',
        ...reply.headers,
      });
      res.end(text);
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
