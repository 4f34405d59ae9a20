import type { Ledger } from '../src/ledger/ledger.js';

/**
 * An enqueue into a cancelled campaign, refused before anything is read or written: its messages would all be
 * skipped. (A cancel that comes while an enqueue runs skips what that enqueue wrote, as it skips the rest.)
 */
export class CampaignClosedError extends Error {
  override name = 'CampaignClosedError';
  constructor(
    readonly campaign: string,
    readonly state: 'cancelled',
  ) {
    super(`campaign "${campaign}" is cancelled: its messages would all be skipped; name another campaign`);
  }
}

/** Throws CampaignClosedError for a cancelled campaign: producers ask before reading their input. */
export async function assertEnqueueable(ledger: Pick<Ledger, 'isCancelled'>, campaign: string): Promise<void> {
  if (await ledger.isCancelled(campaign)) throw new CampaignClosedError(campaign, 'cancelled');
}
