import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, parseDotEnv } from '../config.js';
import { settleWithin } from '../lifecycle.js';
import { enableTracing } from './traces.js';

/**
 * Starts OpenTelemetry's Node SDK when the standard variables ask for traces, and only then: without them
 * the SDK is never imported (it is loaded with a dynamic import), and wa-bulk's helpers make no span.
 *
 * The OTEL_* variables belong to OpenTelemetry: the SDK and its exporter read them (endpoint, protocol,
 * headers, sampler, service name, …), not src/config.ts. This module reads only what decides whether to load
 * the SDK at all (docs/operations.md, "Traces"):
 *
 *   OTEL_SDK_DISABLED=true                     off, whatever else is set
 *   OTEL_TRACES_EXPORTER=none                  off
 *   OTEL_TRACES_EXPORTER=otlp|console|zipkin   on
 *   OTEL_EXPORTER_OTLP_ENDPOINT or
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT         on (exporter: otlp)
 *   none of these                              off
 *
 * The SDK reads them from the process's environment only; src/config.ts reads `.env` for wa-bulk's own
 * variables. So that an OTEL_* line in `.env` counts as it would for those, otelFromDotEnv copies such lines into
 * the environment before the SDK is loaded, the environment winning as it does over `.env`.
 *
 * Only traces: no metrics or logs are exported (the SDK would otherwise push both to the OTLP endpoint by
 * default; /metrics and the JSON logs are wa-bulk's), and no automatic instrumentation is loaded (each
 * Redis command and HTTP request would be a span; wa-bulk's own spans say which wait was which). The
 * resource is service.name "wa-bulk" (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win), the host, and
 * wa_bulk.component (worker, enqueue, dashboard): not the process's command line, which may carry numbers
 * (`wa-bulk suppress add …`).
 */

export interface Tracing {
  /** Sends what is left and stops; bounded, so that a collector gone away cannot hold the process. */
  shutdown(): Promise<void>;
}

const SHUTDOWN_MS = 5000;

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

/** Whether the standard OTEL_* variables ask for traces (the table above). */
export function tracesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return false;
  const exporters = value(env, 'OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  // The SDK takes a leading "none" as none at all.
  if (exporters && exporters.length > 0) return exporters[0] !== 'none';
  return (
    value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined ||
    value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined
  );
}

/**
 * Copies the OTEL_* lines of the `.env` file into `env` where it has no value of its own (an empty value is
 * none, as everywhere in the configuration). A `.env` that cannot be read is left to the configuration's
 * loading, which says what is wrong with it.
 */
export function otelFromDotEnv(env: NodeJS.ProcessEnv = process.env, dotEnvPath = '.env'): void {
  let file: Record<string, string>;
  try {
    if (!existsSync(dotEnvPath)) return;
    file = parseDotEnv(readFileSync(dotEnvPath, 'utf8'));
  } catch (error) {
    if (error instanceof ConfigError || (error as NodeJS.ErrnoException).code !== undefined) return;
    throw error;
  }
  for (const [name, text] of Object.entries(file))
    if (name.startsWith('OTEL_') && !value(env, name) && text.trim() !== '') env[name] = text.trim();
}

/**
 * Starts the SDK for this component if traces are wanted; undefined (and nothing loaded) otherwise. With the
 * process's own environment, `.env`'s OTEL_* lines count first (otelFromDotEnv).
 */
export async function startTracing(
  component: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  // The SDK reads the process's environment, whatever `env` is: only then can `.env` reach it.
  if (env === process.env) otelFromDotEnv(env);
  if (!tracesWanted(env)) return undefined;
  const { NodeSDK, resources } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': 'wa-bulk', 'wa_bulk.component': component })),
    resourceDetectors: [resources.envDetector, resources.hostDetector],
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  enableTracing(true);
  return {
    async shutdown() {
      enableTracing(false);
      await settleWithin(sdk.shutdown(), SHUTDOWN_MS);
    },
  };
}
