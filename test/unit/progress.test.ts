import { describe, expect, it } from '@jest/globals';
import { ProgressLine, progressMode } from '../../src/cli/progress.js';

function stream(isTTY: boolean, columns: number) {
  const out = { text: '', isTTY, columns, write: (chunk: string) => ((out.text += chunk), true) };
  return out;
}

describe('progress', () => {
  it('draws a bar in place on a terminal that reports its width', () => {
    const s = stream(true, 40);
    const progress = new ProgressLine(s as never);
    progress.update('working', true);
    progress.done('done');
    expect(progress.mode).toBe('bar');
    expect(s.text.startsWith('\rworking')).toBe(true);
    expect(s.text.endsWith('\n')).toBe(true);
  });

  it('falls back to plain lines on a terminal that reports 0 columns', () => {
    const s = stream(true, 0);
    expect(progressMode(s, 'lines')).toBe('lines');
    const progress = new ProgressLine(s as never, progressMode(s, 'lines'), 60_000);
    progress.update('first', true);
    progress.update('second');
    progress.done();
    expect(s.text).toBe('first\nsecond\n');
  });

  it('writes nothing when off, and ends lines mode with the last state once', () => {
    const off = stream(false, 0);
    const silent = new ProgressLine(off as never);
    silent.update('x', true);
    silent.done('y');
    expect(off.text).toBe('');
    const s = stream(false, 0);
    const lines = new ProgressLine(s as never, 'lines', 0);
    lines.update('a', true);
    lines.done();
    expect(s.text).toBe('a\n');
  });
});
