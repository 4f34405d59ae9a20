/**
 * Why a message ended without being sent (dead) or was never sent on purpose (skipped): the names the ledger
 * records in `error.reason`, that `dlq --reason` filters on, and that metrics label. Imports nothing, so the
 * command line's declarations can read it.
 */
export const DEAD_REASONS = ['permanent', 'retries_exhausted', 'unknown_outcome', 'tampered'] as const;
export type DeadReason = (typeof DEAD_REASONS)[number];

export const SKIP_REASONS = ['expired', 'cancelled', 'suppressed', 'no_session', 'removed', 'frequency_cap'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Why a message was skipped, in words (the record's `error.message`), by reason. */
export const SKIP_WORDS: Readonly<Record<SkipReason, string>> = {
  no_session: 'the recipient has not written in the last 24 hours, and only template messages may start a conversation',
  expired: "not sent before its campaign's expiry",
  suppressed: 'the recipient opted out',
  cancelled: 'its campaign was cancelled',
  removed: 'removed by an operator before it was sent',
  frequency_cap: 'the recipient already had as many marketing template messages as FREQUENCY_CAP allows in its window',
};
