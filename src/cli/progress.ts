/**
 * Progress on stderr. On a terminal that reports its width: one line redrawn in place (`\r`). Where `\r`
 * would garble the output (stderr is a file or a pipe, or a terminal that reports 0 columns, as some CI
 * consoles do): `lines` mode writes a plain line at most every `lineIntervalMs`; `off` writes nothing.
 * Whatever the mode, the output ends with a newline.
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

/** The mode for a stream: a bar on a terminal with columns, else `fallback`. */
export function progressMode(
  stream: Partial<Pick<NodeJS.WriteStream, 'isTTY' | 'columns'>>,
  fallback: 'lines' | 'off',
): ProgressMode {
  return stream.isTTY === true && (stream.columns ?? 0) > 0 ? 'bar' : fallback;
}

export class ProgressLine {
  private last = Number.NEGATIVE_INFINITY;
  private lastText = '';
  /** lines mode: whether lastText has been written. */
  private shown = true;
  private readonly started = performance.now();
  readonly mode: ProgressMode;

  constructor(
    private readonly stream: NodeJS.WritableStream &
      Partial<Pick<NodeJS.WriteStream, 'isTTY' | 'columns'>> = process.stderr,
    mode?: ProgressMode,
    private readonly lineIntervalMs = 5000,
  ) {
    this.mode = mode ?? progressMode(stream, 'off');
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  private get width(): number {
    return Math.max(20, (this.stream.columns ?? 100) - 1);
  }

  update(text: string, force = false): void {
    if (this.mode === 'off') return;
    const now = performance.now();
    this.lastText = text;
    if (this.mode === 'lines') {
      this.shown = false;
      if (!force && now - this.last < this.lineIntervalMs) return;
      this.last = now;
      this.shown = true;
      this.stream.write(`${text}\n`);
      return;
    }
    if (!force && now - this.last < 150) return;
    this.last = now;
    this.stream.write(`\r${text.slice(0, this.width).padEnd(this.width)}`);
  }

  /** Clears the line so that other output can be written. */
  clear(): void {
    if (this.mode === 'bar') this.stream.write(`\r${' '.repeat(this.width)}\r`);
  }

  /** The final state (the last text when none is given), then a newline. */
  done(text?: string): void {
    if (this.mode === 'off') return;
    const final = text ?? this.lastText;
    if (this.mode === 'lines') {
      if (final && (text !== undefined || !this.shown)) this.stream.write(`${final}\n`);
      return;
    }
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
