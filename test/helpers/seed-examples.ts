import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SEEDS = ['send-message-api.en.txt', 'send-message-api.ja.txt'];

/** Removes `// comment` tails outside JSON strings (the seeds annotate their examples that way). */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** Every top-level `{…}` block of a seed document that parses as JSON once its comments are removed. */
export function seedJsonExamples(): Array<{ seed: string; index: number; value: Record<string, unknown> }> {
  const found: Array<{ seed: string; index: number; value: Record<string, unknown> }> = [];
  for (const seed of SEEDS) {
    const text = readFileSync(fileURLToPath(new URL(`../fixtures/seeds/${seed}`, import.meta.url)), 'utf8');
    const lines = text.split('\n');
    for (let start = 0; start < lines.length; start++) {
      if (lines[start]?.trim() !== '{') continue;
      let depth = 0;
      const block: string[] = [];
      for (let end = start; end < lines.length; end++) {
        const line = stripComments(lines[end] ?? '');
        block.push(line);
        for (const ch of line.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
          if (ch === '{') depth++;
          else if (ch === '}') depth--;
        }
        if (depth === 0) {
          found.push({ seed, index: found.length, value: JSON.parse(block.join('\n')) });
          start = end;
          break;
        }
      }
    }
  }
  return found;
}
