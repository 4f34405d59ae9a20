import { run as enqueue } from './enqueue.js';

/** `wa-bulk check FILE --campaign ID [enqueue's options] [--json]`: validation and preflight, nothing written. */
export function run(argv: string[]): Promise<number> {
  return enqueue(argv, 'check');
}
