/**
 * A mistake in how wa-bulk was called: a flag, a file's header, a setting of the command. The command line
 * prints its message in one line and exits 2; library callers get it as any other error.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
