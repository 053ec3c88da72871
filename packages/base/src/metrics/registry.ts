/**
 * Prometheus metrics of a beamgate server on prom-client: a registry that already holds the default process and
 * event-loop metrics (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...). Names follow the Prometheus
 * conventions: a `beamgate_` prefix, `_total` on counters, base units (`_seconds`, `_bytes`).
 * Only programs create one: the libraries publish on diagnostics_channel and the CLIs count what they see.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** Latency buckets (seconds) for requests, from 100 µs to 10 s. */
export const LATENCY_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
/** Duration buckets (seconds) for sessions and jobs, from 10 ms to 1 h. */
export const DURATION_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];
/** Size buckets (bytes) for messages, from 64 B to 64 MiB. */
export const SIZE_BUCKETS = [64, 512, 4096, 32768, 262144, 2097152, 16777216, 67108864];

export interface MetricsRegistryOptions {
  /** Default labels on every series, e.g. `{ program: 'beep' }`. */
  labels?: Record<string, string>;
  /** Collect the default process and event-loop metrics (default true). */
  defaults?: boolean;
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaults !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
