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
