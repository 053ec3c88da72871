/**
 * `beam serve|worker --metrics HOST:PORT`: Prometheus series counted by the CLI from the library's public hooks
 * (a Dispatcher command filter, the job engine's and worker's events, the auth-failure diagnostics_channel), so the
 * library knows nothing of prom-client.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { Counter, createMetricsRegistry, DURATION_BUCKETS, Histogram, type Registry } from '@beamgate/base';
import { AUTH_FAILURE_CHANNEL, type AuthFailure } from '../server/auth.js';
import type { Dispatcher } from '../context/dispatch.js';

export class BeamMetrics {
  readonly registry: Registry;
  private readonly r: Registry[];
  readonly commands: Counter;
  readonly jobsStarted: Counter;
  readonly jobExits: Counter;
  readonly jobSeconds: Histogram;
  readonly authFailures: Counter;
  readonly refusals: Counter;
  private readonly started = new Map<number, bigint>();
  private readonly onAuth = (f: unknown): void => this.authFailures.inc({ listener: 'resp', reason: (f as AuthFailure).reason });

  constructor(program: 'serve' | 'worker') {
    this.registry = createMetricsRegistry({ labels: { program: `beam-${program}` } });
    this.r = [this.registry];
    this.commands = new Counter({ name: 'beamgate_beam_commands_total', help: 'Commands executed, by name', labelNames: ['command'], registers: this.r });
    this.jobsStarted = new Counter({ name: 'beamgate_beam_jobs_started_total', help: 'Jobs started', registers: this.r });
    this.jobExits = new Counter({ name: 'beamgate_beam_jobs_finished_total', help: 'Jobs that ended, by exit status', labelNames: ['status'], registers: this.r });
    this.jobSeconds = new Histogram({ name: 'beamgate_beam_job_duration_seconds', help: 'Run time of finished jobs', buckets: DURATION_BUCKETS, registers: this.r });
    this.authFailures = new Counter({ name: 'beamgate_auth_failures_total', help: 'Failed or throttled AUTHs', labelNames: ['listener', 'reason'], registers: this.r });
    this.refusals = new Counter({ name: 'beamgate_limit_refusals_total', help: 'Clients or requests refused by a limit', labelNames: ['limit'], registers: this.r });
    diagnostics_channel.subscribe(AUTH_FAILURE_CHANNEL, this.onAuth);
  }

  /** Count every command this dispatcher runs. */
  countCommands(d: Dispatcher): void {
    d.addFilter((_inv, spec) => {
      this.commands.inc({ command: spec.name });
      return undefined;
    });
  }

  jobStart(id: number): void {
    this.jobsStarted.inc();
    this.started.set(id, process.hrtime.bigint());
  }

  jobExit(id: number, status: number): void {
    this.jobExits.inc({ status: String(status) });
    const t = this.started.get(id);
    if (t !== undefined) {
      this.started.delete(id);
      this.jobSeconds.observe(Number(process.hrtime.bigint() - t) / 1e9);
    }
  }

  close(): void {
    diagnostics_channel.unsubscribe(AUTH_FAILURE_CHANNEL, this.onAuth);
  }
}
