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

/** Starts the SDK for this component if traces are wanted; undefined (and nothing loaded) otherwise. */
export async function startTracing(
  component: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
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
