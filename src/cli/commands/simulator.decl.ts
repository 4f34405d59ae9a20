import { MAX_DELAY_MS, type Command } from '../declaration.js';

export const SIMULATOR = {
  name: 'simulator',
  summary: 'a local EngageLab stand-in',
  usage: [
    '[--port N] [--host H] [--latency-ms N] [--fail-rate F] [--faults K=F,…] [--slow-ms N] ' +
      '[--templates a,b | --templates-file F] [--key K --secret S] [--seed N] [--record-arrivals] ' +
      '[--callback-url URL] [--callback-delay-ms N] [--delivery-errors CODE=F,…] [--reply-rate F]',
  ],
  flags: {
    port: { type: 'int', value: 'N', max: 65_535, default: 4010, help: 'port' },
    host: { type: 'string', value: 'H', default: '127.0.0.1', help: 'address' },
    'latency-ms': { type: 'int', value: 'N', max: MAX_DELAY_MS, default: 0, help: 'delay before each answer' },
    'fail-rate': {
      type: 'rate',
      value: 'F',
      default: 0,
      help: 'share of requests answered with a fault, spread over the five kinds of --faults',
    },
    faults: {
      type: 'string',
      value: 'K=F,…',
      help: 'error1000, html503, rateLimit, reset, slow, each a share of requests',
    },
    'slow-ms': { type: 'int', value: 'N', max: MAX_DELAY_MS, default: 60_000, help: 'how late a "slow" answer comes' },
    templates: { type: 'string', value: 'a,b', help: 'the only template names it knows (others get 4001)' },
    'templates-file': {
      type: 'string',
      value: 'F',
      help: 'templates as GET /v1/templates answers them (names, languages, statuses, components)',
    },
    key: { type: 'string', value: 'K', help: 'the API key it accepts (default ENGAGELAB_DEV_KEY, else dev_key)' },
    secret: {
      type: 'string',
      value: 'S',
      help: 'the secret it accepts (default ENGAGELAB_DEV_SECRET, else dev_secret)',
    },
    seed: { type: 'int', value: 'N', help: 'seeds the fault pattern' },
    'record-arrivals': { type: 'boolean', help: "record each request's arrival time (the benchmark reads them)" },
    'callback-url': {
      type: 'string',
      value: 'URL',
      help: 'send EngageLab-style status callbacks there (of a last segment `new,old`, the first token)',
    },
    'callback-delay-ms': {
      type: 'int',
      value: 'N',
      max: MAX_DELAY_MS,
      default: 200,
      help: 'the spacing of the sent, delivered and read callbacks',
    },
    'delivery-errors': {
      type: 'string',
      value: 'CODE=F,…',
      help: 'Meta error codes in delivery callbacks, each a share (e.g. 131048=0.01,130429=0.02)',
    },
    'reply-rate': {
      type: 'rate',
      value: 'F',
      help: 'share of delivered template messages the recipient answers (opens a session)',
    },
  },
  notes: ['Runs until SIGTERM/SIGINT, then logs what it received.'],
} as const satisfies Command;
