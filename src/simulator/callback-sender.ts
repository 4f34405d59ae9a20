import { countryOf } from '../messages/phone.js';
import type { SimulatorOptions } from './options.js';

/**
 * The simulator's status callbacks, as EngageLab sends them (its "Message status callback"
 * documentation): `{"total": n, "rows": [...]}` POSTed to the callback URL, several rows a request, some
 * late, out of order or twice, and never retried when the post fails.
 */

/** The business number the simulator reports for messages sent without `from` (EngageLab's default). */
export const DEFAULT_NUMBER = '8613800138000';

/** Meta's wording for the error codes a test may inject (WhatsApp Business Platform, error codes). */
const META_ERRORS: Record<number, string> = {
  131026: 'Message undeliverable',
  131048: 'Spam rate limit hit',
  131049: 'This message was not delivered to maintain healthy ecosystem engagement',
  130429: 'Rate limit hit',
  131047: 'Re-engagement message',
  131056: 'Pair rate limit hit',
};

function inboundRow(
  user: string,
  business: string,
  event: 'received' | 'reply',
  at: number,
  answers?: string,
  text = 'ok',
) {
  return {
    message_id: `in-${at.toString(36)}-${user}`,
    from: user,
    to: business,
    server: 'whatsapp',
    channel: 'whatsapp',
    itime: Math.floor(at / 1000),
    response: {
      event,
      response_data: {
        message: { type: 'text', text },
        ...(answers && { message_context: { origin_message_id: answers } }),
      },
    },
  };
}

interface PendingCallback {
  due: number;
  row: Record<string, unknown>;
}

export interface CallbackStats {
  rows: number;
  posts: number;
  failedPosts: number;
}

export class CallbackSender {
  private queue: PendingCallback[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The furthest delivery state the callbacks of each message_id report (for tests). */
  readonly finalDelivery = new Map<string, 'delivered' | 'read' | 'failed'>();
  /** Callback rows posted, and posts that failed. */
  readonly stats: CallbackStats = { rows: 0, posts: 0, failedPosts: 0 };

  constructor(
    private readonly options: SimulatorOptions,
    private readonly random: () => number,
  ) {}

  start(): void {
    if (this.options.callbackUrl) this.timer ??= setInterval(() => void this.flush(), 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** sent → delivered (or delivered_failed) → read, as EngageLab reports them, with some disorder. */
  schedule(
    messageId: string,
    to: string,
    customArgs: Record<string, unknown> | undefined,
    from: string | undefined,
    /** The template's category (lower case) for a template message; undefined for any other. */
    category: string | undefined,
  ): void {
    const template = category !== undefined;
    if (!this.options.callbackUrl) return;
    const delay = this.options.callbackDelayMs ?? 200;
    const now = Date.now();
    const sender = from ?? DEFAULT_NUMBER;
    const base = {
      message_id: messageId,
      from: sender,
      to,
      server: 'whatsapp',
      channel: 'whatsapp',
      custom_args: customArgs ?? {},
    };
    // As Meta's webhooks: the sent and delivered reports carry the message's pricing (per-message pricing; a
    // message in a customer's open session is free), the read report none.
    const pricing = {
      country_code: countryOf(to),
      pricing: template
        ? { billable: true, pricing_model: 'PMP', type: 'regular', category }
        : { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' },
    };
    const row = (status: string, extra: Record<string, unknown> = {}, at = now) => ({
      ...base,
      itime: Math.floor(at / 1000),
      status: {
        message_status: status,
        error_code: 0,
        status_data: { msg_time: Math.floor(at / 1000), ...(status !== 'read' && pricing) },
        ...extra,
      },
    });
    const steps: PendingCallback[] = [{ due: now + delay, row: row('sent', {}, now + delay) }];
    const drawn = this.failureCode();
    const code = this.options.deliveryErrorsTo?.[to] ?? drawn;
    if (code !== undefined) {
      const failure = {
        error_code: code,
        error_detail: { message: META_ERRORS[code] ?? 'Message undeliverable' },
        loss: { loss_step: 3, loss_source: 'meta' },
      };
      steps.push({ due: now + 2 * delay, row: row('delivered_failed', failure, now + 2 * delay) });
      this.finalDelivery.set(messageId, 'failed');
    } else {
      steps.push({ due: now + 2 * delay, row: row('delivered', {}, now + 2 * delay) });
      this.finalDelivery.set(messageId, 'delivered');
      if (this.random() < (this.options.readRate ?? 0.6)) {
        steps.push({ due: now + 3 * delay, row: row('read', {}, now + 3 * delay) });
        this.finalDelivery.set(messageId, 'read');
      }
      // Some recipients answer a template message: that opens their 24-hour session window.
      if (template && (this.options.replyRate ?? 0) > 0 && this.random() < (this.options.replyRate ?? 0)) {
        steps.push({ due: now + 4 * delay, row: inboundRow(to, sender, 'reply', now + 4 * delay, messageId) });
      }
    }
    if (this.random() < (this.options.shuffleRate ?? 0.1)) {
      // Out of order (the last row first) and one row twice.
      const last = steps.at(-1) as PendingCallback;
      const first = steps[0] as PendingCallback;
      [first.due, last.due] = [last.due, first.due];
      steps.push({ due: last.due + delay, row: (steps[1] as PendingCallback).row });
    }
    this.queue.push(...steps);
  }

  private async flush(): Promise<void> {
    const now = Date.now();
    const due: Array<Record<string, unknown>> = [];
    const later: PendingCallback[] = [];
    for (const pending of this.queue) {
      if (pending.due <= now) due.push(pending.row);
      else later.push(pending);
    }
    this.queue = later;
    for (let i = 0; i < due.length; i += 500) {
      const rows = due.slice(i, i + 500);
      this.stats.posts++;
      this.stats.rows += rows.length;
      try {
        const res = await fetch(this.options.callbackUrl as string, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ total: rows.length, rows }),
          signal: AbortSignal.timeout(3000),
        });
        if (!res.ok) this.stats.failedPosts++;
        await res.arrayBuffer();
      } catch {
        this.stats.failedPosts++;
      }
    }
  }

  /** The Meta error code of a failed delivery: one of deliveryErrors by its rate, else 131026 at deliveryFailRate. */
  private failureCode(): number | undefined {
    const r = this.random();
    let acc = 0;
    for (const [code, rate] of Object.entries(this.options.deliveryErrors ?? {})) {
      acc += rate;
      if (r < acc) return Number(code);
    }
    return r < acc + (this.options.deliveryFailRate ?? 0.03) ? 131026 : undefined;
  }

  /** Inbound messages from these users to the business number, posted now (each opens a session window). */
  async inbound(users: string[], to = DEFAULT_NUMBER, text = 'ok'): Promise<number> {
    const rows = users.map((user) => inboundRow(user, to, 'received', Date.now(), undefined, text));
    const res = await fetch(this.options.callbackUrl as string, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ total: rows.length, rows }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Callback rows still to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** Sends a notification row (insufficient_balance, template_update, …) to the callback URL now. */
  async notify(event: string, data: Record<string, unknown>): Promise<number> {
    const res = await fetch(this.options.callbackUrl as string, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        total: 1,
        rows: [
          {
            server: 'whatsapp',
            channel: 'whatsapp',
            itime: Math.floor(Date.now() / 1000),
            notification: { event, notification_data: data },
          },
        ],
      }),
    });
    return res.status;
  }
}
