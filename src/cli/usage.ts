/**
 * Every command's one-line summary and its usage, in one place: `wa-bulk --help` lists the summaries,
 * `wa-bulk <command> --help` prints the usage, and a command's own usage errors quote the same text.
 */
export interface CommandHelp {
  summary: string;
  usage: string;
}

export const HELP = {
  worker: {
    summary: 'run a send worker until SIGTERM/SIGINT',
    usage:
      'usage: wa-bulk worker\n\nSends until SIGTERM/SIGINT, then stops taking jobs, finishes the sends in flight and exits 0.',
  },
  enqueue: {
    summary: 'validate a JSONL/CSV file and enqueue one job per message',
    usage: [
      'usage: wa-bulk enqueue FILE|- --campaign ID [--format jsonl|csv] [--template NAME --language CODE | --text "…"]',
      '                       [--at TIME] [--send-window HH:MM-HH:MM] [--expires-in DURATION | --expires-at TIME]',
      '                       [--priority high|normal|low] [--no-preflight] [--dry-run] [--strict] [--json]',
      '',
      '  FILE|-             a JSONL or CSV file, or - for stdin',
      '  --campaign ID      1-64 letters, digits, "_" or "-"',
      '  --format           jsonl or csv (default: from the file name)',
      '  --template, --language   CSV template campaigns: the template name and language code',
      '  --text "…"         CSV text campaigns: the text, with {{column}} placeholders',
      '  --dry-run          validate and count, write nothing',
      '  --strict           enqueue nothing if any line is invalid',
      '  --json             print the summary as JSON',
      '  --at TIME          no message leaves before TIME (ISO 8601 with an offset, or +30m)',
      "  --send-window      only inside this span of the recipient's local time, e.g. 09:00-21:00",
      '  --expires-in, --expires-at   a message not sent by then is never sent (90s, 10m, 2h / a TIME)',
      '  --priority         high messages leave before waiting normal ones, normal before low',
      '  --no-preflight     skip the template and media checks (see "wa-bulk check")',
    ].join('\n'),
  },
  check: {
    summary: 'validate a file and check its templates and media links, sending nothing',
    usage: [
      "usage: wa-bulk check FILE|- --campaign ID [enqueue's options] [--strict] [--json]",
      '',
      "Validates like enqueue --dry-run, and checks each distinct template against EngageLab's Template API and",
      "each distinct media link (HEAD) against WhatsApp's media rules. Unreachable links are warnings (rejects",
      'with --strict). Exit 1 when lines were rejected.',
    ].join('\n'),
  },
  cancel: {
    summary: 'cancel a campaign for good: no further message of it leaves',
    usage:
      'usage: wa-bulk cancel --campaign ID [--json]\n\nIts waiting messages end skipped, reason cancelled; requests already in flight finish.',
  },
  suppress: {
    summary: 'opt-outs: numbers that get no message',
    usage: [
      'usage: wa-bulk suppress add|remove NUMBER…',
      '       wa-bulk suppress import FILE|-        one number a line',
      '       wa-bulk suppress list [--json]',
    ].join('\n'),
  },
  status: {
    summary: 'queue counts, pause state, dead letters, campaign progress',
    usage:
      'usage: wa-bulk status [--campaign ID] [--json]\n\nExit 1 when --campaign names a campaign the ledger does not know.',
  },
  campaigns: {
    summary: 'every campaign with its counts, newest first',
    usage: 'usage: wa-bulk campaigns [--json]\n\n--json prints one JSON object per campaign and line.',
  },
  watch: {
    summary: 'live progress until the campaign is done',
    usage:
      'usage: wa-bulk watch [--campaign ID] [--interval-ms N]\n\nA progress bar on a terminal; a plain line every few seconds otherwise. Exit 1 for an unknown campaign.',
  },
  result: {
    summary: "one message's record",
    usage: 'usage: wa-bulk result REQUEST_ID [--json]\n\nExit 1 when the ledger does not know the request_id.',
  },
  export: {
    summary: 'every message of a campaign, one per line',
    usage: 'usage: wa-bulk export --campaign ID [--format jsonl|csv]',
  },
  dlq: {
    summary: 'list, replay or purge dead letters',
    usage: [
      'usage: wa-bulk dlq list|replay|purge [--campaign ID] [--code N] [--reason R] [--json]',
      '',
      '  replay   sends the matching dead letters again under their request_id; unknown_outcome ones',
      '           (which EngageLab may have accepted) only with --reason unknown_outcome',
      '  purge    drops them from the dead-letter queue (the ledger keeps their record)',
      '  --reason permanent, retries_exhausted, unknown_outcome, auth or invalid',
    ].join('\n'),
  },
  pause: {
    summary: 'stop sending: the whole fleet, one sending number, or one campaign',
    usage:
      'usage: wa-bulk pause [--sender NUMBER | --campaign ID] [--reason TEXT]\n\nWithout --sender or --campaign every lane of every worker stops before its next request.',
  },
  resume: {
    summary: 'restart sending: the whole fleet, one sending number, or one campaign',
    usage:
      'usage: wa-bulk resume [--sender NUMBER | --campaign ID]\n\nA fleet resume also clears the outage breaker; a lane paused on its own stays paused.',
  },
  dashboard: {
    summary: 'Bull Board, /metrics, /healthz and the HTTP API',
    usage:
      'usage: wa-bulk dashboard\n\nListens on DASHBOARD_HOST:DASHBOARD_PORT until SIGTERM/SIGINT (see README, HTTP API).',
  },
  demo: {
    summary: 'everything on this machine, on a sample campaign, with no account',
    usage:
      'usage: wa-bulk demo [--exit] [--file FILE] [--fail-rate F]\n\n  --exit       stop when the campaign is done instead of serving the dashboard\n  --file       another JSONL campaign\n  --fail-rate  share of requests the simulator fails (default 0.02)',
  },
  simulator: {
    summary: 'a local EngageLab stand-in',
    usage: [
      'usage: wa-bulk simulator [--port N] [--host H] [--latency-ms N] [--fail-rate F] [--faults K=F,…] [--slow-ms N]',
      '                         [--templates a,b | --templates-file F] [--key K --secret S] [--seed N] [--record-arrivals]',
      '                         [--callback-url URL] [--callback-delay-ms N] [--delivery-errors CODE=F,…] [--reply-rate F]',
      '',
      '  --faults     error1000, html503, rateLimit, reset, slow, each a share of requests',
      '  --slow-ms    how late a "slow" answer comes (default 60000)',
      '  --templates  the only template names it knows (others get 4001)',
      '  --templates-file   templates as GET /v1/templates answers them (names, languages, statuses, components)',
      '  --seed       seeds the fault pattern',
      '  --delivery-errors  Meta error codes in delivery callbacks, each a share (e.g. 131048=0.01,130429=0.02)',
      '  --reply-rate       share of delivered template messages the recipient answers (opens a session)',
    ].join('\n'),
  },
} as const satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof HELP;

/** The first line of a command's usage, for its usage errors. */
export function synopsis(name: CommandName): string {
  return HELP[name].usage.split('\n')[0] as string;
}
