import { SKIP_WORDS, type SkipReason } from '../../src/ledger/reasons.js';
import { GrantVerdict, type Mismatch } from '../../src/scripts/index.js';

/** The ledger says this message needs no request: already sent or dead, or in flight when a worker died. */
export class SettledSignal extends Error {
  override name = 'SettledSignal';
  constructor(readonly state: 'sent' | 'dead' | 'inflight') {
    super(`message is ${state}`);
  }
}

/** No request may leave: sending is paused, or this process is shutting down. */
export class PausedSignal extends Error {
  override name = 'PausedSignal';
  constructor(readonly why: 'paused' | 'closing') {
    super(why === 'paused' ? 'sending is paused' : 'worker is shutting down');
  }
}

/** The message's campaign is paused or cancelled: no request for it now. */
export class CampaignSignal extends Error {
  override name = 'CampaignSignal';
  constructor(readonly state: 'paused' | 'cancelled') {
    super(`its campaign is ${state}`);
  }
}

/** The message must not be sent at all: it ends `skipped` with this reason (SKIP_WORDS says it in words). */

export class SkipSignal extends Error {
  override name = 'SkipSignal';
  constructor(readonly reason: Exclude<SkipReason, 'cancelled'>) {
    super(SKIP_WORDS[reason]);
  }
}

/** The message may be sent later: after its pair interval, or when the messaging limit frees a place. */
export class WaitSignal extends Error {
  override name = 'WaitSignal';
  constructor(
    readonly reason: 'pair' | 'limit',
    readonly ms: number,
  ) {
    super(
      reason === 'pair'
        ? `another message to this recipient left less than PAIR_INTERVAL_MS ago`
        : 'the messaging limit is reached',
    );
  }
}

/**
 * The job is not what its ledger record says (its campaign, recipient or payload differs, or there is no
 * record): it was changed outside wa-bulk, and no request is made for it.
 */
export class TamperedSignal extends Error {
  override name = 'TamperedSignal';
  constructor(readonly differs: Mismatch | 'request_id') {
    super(
      differs === 'record'
        ? 'the ledger has no record of this job'
        : `its ${differs === 'payload' ? 'payload' : differs} is not the one the ledger recorded`,
    );
  }
}

/** A verdict other than granted or wait, as the signal the processor acts on. */
export function signalOf(verdict: string): Error {
  switch (verdict) {
    case GrantVerdict.Sent:
    case GrantVerdict.Dead:
    case GrantVerdict.InFlight:
      return new SettledSignal(verdict);
    case GrantVerdict.CampaignPaused:
    case GrantVerdict.CampaignCancelled:
      return new CampaignSignal(verdict);
    case GrantVerdict.NoSession:
      return new SkipSignal('no_session');
    case GrantVerdict.Expired:
      return new SkipSignal('expired');
    case GrantVerdict.Suppressed:
      return new SkipSignal('suppressed');
    default: {
      const [reason, ms] = verdict.split(':');
      if ((reason === 'pair' || reason === 'limit') && ms !== undefined) return new WaitSignal(reason, Number(ms));
      if (reason === 'tampered' && ms !== undefined) return new TamperedSignal(ms as Mismatch);
      return new Error(`unexpected grant verdict "${verdict}"`);
    }
  }
}
