/** A one-line progress display on a terminal (stderr); silent when stderr is not a terminal. */
export class ProgressLine {
  private last = 0;
  private readonly enabled: boolean;
  private readonly started = performance.now();

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? stream.isTTY === true;
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.last < 150) return;
    this.last = now;
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    this.stream.write(`\r${text.slice(0, width).padEnd(width)}`);
  }

  /** Clears the line so that other output can be written. */
  clear(): void {
    if (this.enabled) this.stream.write(`\r${' '.repeat(Math.max(20, (this.stream.columns ?? 100) - 1))}\r`);
  }

  done(text?: string): void {
    if (!this.enabled) return;
    if (text !== undefined) this.update(text, true);
    this.stream.write('\n');
  }
}

export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(1).padStart(5)}%`;
}

export const fmt = (n: number) => n.toLocaleString('en-US');
