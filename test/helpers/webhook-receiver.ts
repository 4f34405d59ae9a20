import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A request a receiver got: its headers and its exact body. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  at: number;
}

type Answer = number | 'hang' | { status: number; headers: Record<string, string> };

/**
 * A local webhook receiver for tests: records every request and answers what `answer` says (a status, or
 * 'hang' to never answer), at once or when the promise it returns settles. `verify` checks a request with the
 * standardwebhooks package, the specification's own library: an oracle independent of the code that signs.
 */
export async function startReceiver(
  answer: (request: Received, count: number) => Answer | Promise<Answer> = () => 200,
) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(request);
      const answered = answer(request, received.length);
      if (answered instanceof Promise) hanging.add(res);
      void Promise.resolve(answered).then((status) => {
        if (status === 'hang') hanging.add(res);
        else if (res.destroyed) hanging.delete(res);
        else if (typeof status === 'number') res.writeHead(status).end();
        else res.writeHead(status.status, status.headers).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    received,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The request's payload as standardwebhooks verifies it (throws when no signature matches `secret`). */
export function verify(secret: string, request: Received): unknown {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': request.id,
    'webhook-timestamp': request.timestamp,
    'webhook-signature': request.signature,
  });
}
