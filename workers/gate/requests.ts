import type { BreakerTicket } from './breaker.js';

/** What passes the send gate: a request, and the ticket it leaves with. */

export interface Ticket extends BreakerTicket {
  waitedMs: number;
}

/** One request at the gate: the message and what its first ask is checked against. */
export interface GateRequest {
  requestId: string;
  campaign: string;
  /** The recipient (digits). */
  to: string;
  template: boolean;
  /** Epoch ms after which it must not leave (--expires-*). */
  expiresAt?: number | undefined;
  /**
   * The job's payload digest (src/ledger/digest.ts): given, the first ask also checks that the job is its
   * ledger record's (campaign, recipient, payload), else a TamperedSignal.
   */
  digest?: string;
}
