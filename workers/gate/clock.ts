/**
 * What a worker process knows of Redis's clock, for the send gate: when a grant was given by the local clock
 * (so that a grant that arrives too late is handed back), and how far ahead a process whose answers lag
 * should ask for its grants.
 */
export class RedisClock {
  /** Bounds on Redis's clock minus this process's, over two windows of 5 s. */
  private offsetCurrent = Number.POSITIVE_INFINITY;
  private offsetPrevious = Number.POSITIVE_INFINITY;
  private offsetSince = Number.NEGATIVE_INFINITY;
  /** The lag of the last answers: from the grant script's run to this process reading the answer. */
  private readonly lags = new Array<number>(9).fill(0);
  private lagIndex = 0;

  constructor(
    private readonly tripMs: number,
    private readonly maxLeadMs: number,
  ) {}

  /**
   * The local time at which Redis ran a script that reported `redisNow`, asked at `askedAt` and answered at
   * `receivedAt` (local times). The script ran after the ask left, so Redis's time minus the local time of
   * the ask is never below the true offset; the smallest such value seen lately is the tightest bound. The
   * time found is never later than the true one, so lateness is never underestimated; the outbound trip,
   * before the grant, does not count. Also records the answer's lag.
   */
  localTime(askedAt: number, redisNow: number, receivedAt: number): number {
    if (receivedAt - this.offsetSince > 5000) {
      // Clocks that drift apart are followed within 10 s.
      this.offsetPrevious = this.offsetCurrent;
      this.offsetCurrent = Number.POSITIVE_INFINITY;
      this.offsetSince = receivedAt;
    }
    this.offsetCurrent = Math.min(this.offsetCurrent, redisNow - askedAt);
    const at = redisNow - Math.min(this.offsetCurrent, this.offsetPrevious);
    this.lags[this.lagIndex] = receivedAt - at;
    this.lagIndex = (this.lagIndex + 1) % this.lags.length;
    return at;
  }

  /**
   * How far ahead of Redis's clock to ask for grants. A process all of whose recent answers came back later
   * than tripMs (a starved machine, a slow link to Redis) would hand every grant back and never send; it
   * asks for grants dated when its answers arrive at the soonest (the shortest lag of its last answers), so
   * that they are on time then. Zero on a process that keeps up, even now and then.
   */
  lead(): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (const lag of this.lags) shortest = Math.min(shortest, lag);
    return shortest > this.tripMs ? Math.min(shortest - 1, this.maxLeadMs) : 0;
  }
}
