import { afterAll, beforeAll, describe } from '@jest/globals';
import { hasPostgres, startPostgresServer, type PostgresHandle } from '../../src/dev/postgres-server.js';

/**
 * A PostgreSQL of the test file's own, started before its first test and stopped after its last, where the
 * machine has PostgreSQL's binaries; without them `suite` skips the file's tests, after one line naming
 * `what` and the package to install.
 */
export function usePostgres(what: string): {
  /** `describe`, or `describe.skip` without PostgreSQL. */
  suite: (name: string, tests: () => void) => void;
  /** The running server, once the file's tests run (tests may halt and start it). */
  readonly server: PostgresHandle | undefined;
  readonly url: string | undefined;
} {
  const available = hasPostgres();
  if (!available) process.stdout.write(`${what} skipped: no PostgreSQL binaries (apt-get install -y postgresql)\n`);
  let server: PostgresHandle | undefined;
  beforeAll(async () => {
    if (available) server = await startPostgresServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    suite: available ? describe : describe.skip,
    get server() {
      return server;
    },
    get url() {
      return server?.url;
    },
  };
}
