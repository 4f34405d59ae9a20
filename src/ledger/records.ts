import type { SkipReason, DeadReason } from './reasons.js';
import type { Priority } from '../campaigns/options.js';
import { funnel, type DeliveryStatus } from './delivery.js';

/**
 * The shapes the ledger reads its records into: a message (the `result` / `export` line) and a campaign (its
 * counters, state and settings), from the hashes src/scripts/includes/message-record.lua and the scripts write.
 */

export type MessageStatus = 'pending' | 'sent' | 'dead' | 'skipped';

/** Why a message was never sent on purpose. */

/** The `result` / `export` JSON shape (docs/cli.md): fields may be added, these do not change. */
export interface MessageRecord {
  request_id: string;
  campaign: string;
  to: string;
  status: MessageStatus;
  message_id: string | null;
  /** Why it died, or why it was skipped (code and http_status null then). */
  error: { code: number | null; http_status: number | null; reason: DeadReason | SkipReason; message: string } | null;
  attempts: number;
  updated_at: string;
  /** From EngageLab's status callbacks; null until the first one. */
  delivery: { status: DeliveryStatus; at: string; error_code: number | null } | null;
}

export interface CampaignCounts {
  id: string;
  total: number;
  sent: number;
  dead: number;
  /** Never sent on purpose (no session, cancelled, expired, suppressed). */
  skipped: number;
  pending: number;
  /** The delivery funnel from callbacks: each sent message counted at its furthest state. */
  delivery: { sent: number; delivered: number; read: number; failed: number };
  state: CampaignState;
  pause_reason: string | null;
  /** Campaign control: ISO times, the recipient-local window, the priority. */
  at: string | null;
  send_window: string | null;
  expires_at: string | null;
  priority: Priority;
  /** Dead letters by EngageLab code ("none": a timeout or a lost connection). */
  dead_by_code: Record<string, number>;
  /** Present (true) when Redis no longer holds the campaign and these counts come from PostgreSQL. */
  archived?: true;
}

export type CampaignState = 'scheduled' | 'sending' | 'paused' | 'done' | 'cancelled';

const num = (value: string | undefined): number | null => (value === undefined || value === '' ? null : Number(value));

export function toRecord(requestId: string, hash: Record<string, string>): MessageRecord {
  const status = (hash.status ?? 'pending') as MessageStatus;
  return {
    request_id: requestId,
    campaign: hash.campaign ?? '',
    to: hash.to ?? '',
    status,
    message_id: hash.message_id ?? null,
    error:
      status === 'dead' || status === 'skipped'
        ? {
            code: num(hash.code),
            http_status: num(hash.http_status),
            reason: (hash.reason ?? 'permanent') as DeadReason | SkipReason,
            message: hash.error ?? '',
          }
        : null,
    attempts: Number(hash.attempts ?? 0),
    updated_at: new Date(Number(hash.updated_at ?? hash.created_at ?? 0)).toISOString(),
    delivery: hash.delivery_status
      ? {
          status: hash.delivery_status as DeliveryStatus,
          at: new Date(Number(hash.delivery_at ?? 0)).toISOString(),
          error_code: num(hash.delivery_error_code),
        }
      : null,
  };
}

/** A campaign's hash as the `status --json` campaign object; undefined when it holds no message. */
export function toCampaign(id: string, hash: Record<string, string>): CampaignCounts | undefined {
  if (!hash.total) return undefined;
  const total = Number(hash.total);
  const sent = Number(hash.sent ?? 0);
  const dead = Number(hash.dead ?? 0);
  const skipped = Number(hash.skipped ?? 0);
  const pending = total - sent - dead - skipped;
  const at = hash.at ? Number(hash.at) : null;
  const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);
  const state: CampaignState =
    hash.state === 'cancelled'
      ? 'cancelled'
      : pending === 0
        ? 'done'
        : hash.state === 'paused'
          ? 'paused'
          : at !== null && at > Date.now() && sent + dead + skipped === 0
            ? 'scheduled'
            : 'sending';
  return {
    id,
    total,
    sent,
    dead,
    skipped,
    pending,
    delivery: funnel(hash, sent),
    state,
    pause_reason: hash.state === 'paused' ? (hash.pause_reason ?? null) : null,
    at: iso(hash.at),
    send_window: hash.send_window ?? null,
    expires_at: iso(hash.expires_at),
    priority: (hash.priority as Priority | undefined) ?? 'normal',
    dead_by_code: Object.fromEntries(
      Object.entries(hash)
        .filter(([field, n]) => field.startsWith('dead_code:') && Number(n) > 0)
        .map(([field, n]) => [field.slice('dead_code:'.length), Number(n)]),
    ),
  };
}
