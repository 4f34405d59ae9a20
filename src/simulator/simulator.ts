import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultRates, SimulatorOptions } from './options.js';

export type { FaultRates, SimulatorOptions } from './options.js';
import { requestSchema } from '../messages/schema.js';
import { formatIssues, messageErrors } from '../messages/validate.js';
import { arrivalReport } from './arrivals.js';
import { faultAnswer, pickFault, rng, spreadFaults, type FaultKind } from './faults.js';
import { CallbackSender, type CallbackStats } from './callback-sender.js';
import { serveMedia } from './media.js';
import { templatesFor } from './templates.js';

export { maxInSlidingWindow, steadyRate } from './arrivals.js';

/**
 * A local stand-in for EngageLab's POST /v1/messages that answers the way the seed documents say the real
 * one does (EngageLab Send Message API, "Error Codes" and "Call validation"): 2001 for a wrong key pair, 3001 for a body that is
 * not JSON, 3002/3003 for a request that breaks the rules, 4001 for an unknown template, and
 * {message_id, request_id} on success. Faults can be injected for tests, the demo and benchmarks.
 */

export interface SimulatorStats {
  requests: number;
  accepted: number;
  /** request_ids EngageLab would have delivered more than once. */
  duplicates: number;
  byStatus: Record<string, number>;
}

/** A reply decided by a test: any status and JSON body. */
export interface CustomReply {
  status: number;
  body: unknown;
}
type Override = (body: Record<string, unknown> | undefined) => FaultKind | CustomReply | 'ok' | undefined;

const STRUCTURAL = new Set(['invalid_type', 'unrecognized_keys', 'invalid_union']);

export class Simulator {
  readonly options: SimulatorOptions;
  private server: http.Server | undefined;
  private readonly random: () => number;
  private readonly expectedAuth: Buffer;
  private override: Override | undefined;
  /** Arrival times (ms, monotonic) of every POST, for sliding-window checks. */
  readonly arrivals: number[] = [];
  /** The same, by the request's `from` ("default" without one): each sender lane's arrivals. */
  readonly arrivalsByFrom = new Map<string, number[]>();
  /** How many times each request_id was accepted. */
  readonly acceptedByRequestId = new Map<string, number>();
  /** The message_id of each request_id's latest accepted request. */
  readonly messageIdByRequestId = new Map<string, string>();
  private readonly stats: SimulatorStats = { requests: 0, accepted: 0, duplicates: 0, byStatus: {} };
  private faults: FaultRates;
  /** GET /v1/templates requests answered (preflight's lookups). */
  templateLookups = 0;
  recordArrivals: boolean;
  private readonly callbacks: CallbackSender;

  constructor(options: SimulatorOptions) {
    this.options = { latencyMs: 0, slowMs: 60_000, retryAfterSeconds: 1, ...options };
    this.recordArrivals = options.recordArrivals ?? false;
    this.random = rng(options.seed ?? Date.now());
    this.expectedAuth = Buffer.from(`Basic ${Buffer.from(`${options.key}:${options.secret}`).toString('base64')}`);
    this.faults = spreadFaults(options.failRate, options.faults);
    this.callbacks = new CallbackSender(this.options, this.random);
  }

  /** Replace the fault rates while running. */
  setFaults(faults: FaultRates): void {
    this.faults = { ...faults };
  }

  /** Decide the fate of each request yourself (return undefined to fall back to the rates). */
  setOverride(override: Override | undefined): void {
    this.override = override;
  }

  getStats(): SimulatorStats {
    return { ...this.stats, byStatus: { ...this.stats.byStatus } };
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.headersTimeout = 31_000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.callbacks.start();
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('simulator is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async stop(): Promise<void> {
    this.callbacks.stop();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The furthest delivery state the callbacks of each message_id report (for tests). */
  get finalDelivery(): ReadonlyMap<string, 'delivered' | 'read' | 'failed'> {
    return this.callbacks.finalDelivery;
  }

  /** Callback rows posted, and posts that failed (EngageLab does not retry them either). */
  get callbackStats(): Readonly<CallbackStats> {
    return this.callbacks.stats;
  }

  /** Callback rows still to be sent. */
  get pendingCallbacks(): number {
    return this.callbacks.pending;
  }

  /** Inbound messages from these users, posted to the callback URL now (each opens a session window). */
  inbound(users: string[], to?: string, text?: string): Promise<number> {
    return this.callbacks.inbound(users, to, text);
  }

  /** Sends a notification row (insufficient_balance, template_update, …) to the callback URL now. */
  notify(event: string, data: Record<string, unknown>): Promise<number> {
    return this.callbacks.notify(event, data);
  }

  private count(status: number): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
  }

  private reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.count(status);
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/html' : 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url?.startsWith('/_simulator/stats')) {
      // Not part of EngageLab's API: lets a rehearsal, a test or a benchmark in another process read the counts.
      const windowMs = Number(new URL(req.url, 'http://x').searchParams.get('window_ms') ?? 0);
      this.reply(res, 200, {
        ...this.getStats(),
        // A rehearsal without a funnel: callbacks that the dashboard refused (a wrong token) or never got.
        ...(this.options.callbackUrl && { callbacks: { ...this.callbacks.stats, pending: this.callbacks.pending } }),
        ...(windowMs > 0 && arrivalReport(this.arrivals, this.arrivalsByFrom, windowMs)),
      });
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && req.url?.startsWith('/media/')) {
      serveMedia(req, res);
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/templates')) {
      this.answerTemplates(req, res);
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      req.resume();
      this.reply(res, 404, { code: 4001, message: `no route ${req.method} ${req.url}` });
      return;
    }
    this.stats.requests++;
    const arrivedAt = performance.now();
    if (this.recordArrivals) this.arrivals.push(arrivedAt);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1_000_000) chunks.push(chunk);
    });
    req.on('end', () => {
      const latency = this.options.latencyMs ?? 0;
      const respond = () => this.respond(req, res, Buffer.concat(chunks), size, arrivedAt);
      if (latency > 0) setTimeout(respond, latency);
      else respond();
    });
  }

  /** A template's category as its catalog says (lower case); the catalog-less simulator's templates are utility. */
  private categoryOf(template: { name: string; language: string }): string {
    const entry = this.options.templateCatalog?.find(
      (t) => t.name === template.name && t.language === template.language,
    );
    return (entry?.category ?? 'UTILITY').toLowerCase();
  }

  private knows(name: string, language: string): boolean {
    if (this.options.templateCatalog)
      return this.options.templateCatalog.some((t) => t.name === name && t.language === language);
    return !this.options.templates || this.options.templates.includes(name);
  }

  /** GET /v1/templates?name=…&language_code=… (name is a fuzzy match, as EngageLab's). */
  private answerTemplates(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    this.templateLookups++;
    if (!this.authorised(req.headers.authorization)) {
      this.reply(res, 401, { code: 2001, message: 'authentication failed: invalid dev key or secret' });
      return;
    }
    this.reply(res, 200, templatesFor(new URL(req.url ?? '/', 'http://x').searchParams, this.options));
  }

  private authorised(header: string | undefined): boolean {
    if (!header) return false;
    const given = Buffer.from(header);
    return given.length === this.expectedAuth.length && timingSafeEqual(given, this.expectedAuth);
  }

  private respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    raw: Buffer,
    size: number,
    arrivedAt: number,
  ): void {
    if (!this.authorised(req.headers.authorization)) {
      this.reply(res, 401, { code: 2001, message: 'authentication failed: invalid dev key or secret' });
      return;
    }
    if (size > 1_000_000) {
      this.reply(res, 413, { code: 3001, message: 'request body too large' });
      return;
    }
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    if (this.recordArrivals && body) {
      const from = typeof body.from === 'string' ? body.from : 'default';
      const list = this.arrivalsByFrom.get(from);
      if (list) list.push(arrivedAt);
      else this.arrivalsByFrom.set(from, [arrivedAt]);
    }
    const decided = this.override?.(body);
    if (typeof decided === 'object') {
      this.reply(res, decided.status, decided.body);
      return;
    }
    const fault = decided ?? pickFault(this.faults, this.random);
    const faulty =
      fault === undefined || fault === 'ok' || fault === 'slow'
        ? undefined
        : faultAnswer(fault, this.options.retryAfterSeconds);
    if (faulty === 'reset') {
      this.count(0);
      req.socket.destroy();
      return;
    }
    if (faulty) {
      this.reply(res, faulty.status, faulty.body, faulty.headers);
      return;
    }
    if (!body) {
      this.reply(res, 400, { code: 3001, message: 'the request body must be a JSON object' });
      return;
    }
    const parsed = requestSchema.safeParse(body, { error: messageErrors });
    if (!parsed.success) {
      const structural = parsed.error.issues.some((issue) => STRUCTURAL.has(issue.code));
      this.reply(res, 400, { code: structural ? 3002 : 3003, message: formatIssues(parsed.error.issues) });
      return;
    }
    const message = parsed.data;
    if (message.body.type === 'template' && !this.knows(message.body.template.name, message.body.template.language)) {
      this.reply(res, 400, {
        code: 4001,
        message: `template ${message.body.template.name} (${message.body.template.language}) does not exist`,
      });
      return;
    }
    const requestId = message.request_id;
    this.stats.accepted++;
    if (requestId !== undefined) {
      const seen = (this.acceptedByRequestId.get(requestId) ?? 0) + 1;
      this.acceptedByRequestId.set(requestId, seen);
      if (seen === 2) this.stats.duplicates++;
    }
    const answer = {
      message_id: randomBytes(10).toString('hex'),
      ...(requestId !== undefined && { request_id: requestId }),
    };
    if (requestId !== undefined) this.messageIdByRequestId.set(requestId, answer.message_id);
    this.callbacks.schedule(
      answer.message_id,
      message.to[0] ?? '',
      message.custom_args,
      message.from,
      message.body.type === 'template' ? this.categoryOf(message.body.template) : undefined,
    );
    if (fault === 'slow') {
      setTimeout(() => {
        if (!res.destroyed) this.reply(res, 200, answer);
      }, this.options.slowMs).unref();
      return;
    }
    this.reply(res, 200, answer);
  }
}
