import { ErrorReply } from '../wire/reply.js';
import type { DispatchClient } from './dispatch-client.js';

/** INFO commandstats counters of one command (Redis' calls, rejected_calls, failed_calls; no timing). */
export interface CommandStats {
  calls: number;
  rejected: number;
  failed: number;
}

/** Redis keeps at most this many distinct error codes in INFO errorstats. */
const MAX_ERROR_CODES = 128;

/** Clients and counters shared by every dispatcher of one server (CLIENT LIST, INFO). */
export class ClientRegistry {
  readonly clients = new Map<number, DispatchClient>();
  /** The client whose command is running (set by connections; Redis' server.current_client), else null. */
  current: DispatchClient | null = null;
  totalConnections = 0;
  totalCommands = 0;
  rejectedConnections = 0;
  /** Error replies sent to clients (INFO total_error_replies) and per first word (INFO errorstats). */
  totalErrorReplies = 0;
  readonly errorStats = new Map<string, number>();
  /** By command name; an entry is created once and then only zeroed, so dispatchers may keep it. */
  readonly commandStats = new Map<string, CommandStats>();
  readonly startedAt = Date.now();

  statsOf(name: string): CommandStats {
    let st = this.commandStats.get(name);
    if (st === undefined) this.commandStats.set(name, (st = { calls: 0, rejected: 0, failed: 0 }));
    return st;
  }

  countError(e: ErrorReply): void {
    this.totalErrorReplies++;
    const msg = String(e.message);
    const sp = msg.indexOf(' ');
    const code = sp < 0 ? msg : msg.slice(0, sp);
    const n = this.errorStats.get(code);
    if (n !== undefined) this.errorStats.set(code, n + 1);
    else if (this.errorStats.size < MAX_ERROR_CODES) this.errorStats.set(code, 1);
  }

  /** Highest used_memory seen (INFO used_memory_peak), sampled by sample() and at every INFO. */
  peakMemory = 0;
  /** Redis' instantaneous_ops_per_sec: commands per second over the last 16 samples of 100 ms. */
  private readonly opsSamples: number[] = [];
  private lastSample = { at: Date.now(), commands: 0 };

  /** The memory figure INFO reports as used_memory; updates the peak. */
  usedMemory(): number {
    const m = process.memoryUsage();
    const used = m.heapUsed + m.external;
    if (used > this.peakMemory) this.peakMemory = used;
    return used;
  }

  /** One serverCron-style sample (every 100 ms while a server runs): ops/sec and the memory peak. */
  sample(now = Date.now()): void {
    const dt = now - this.lastSample.at;
    if (dt > 0) {
      const ops = ((this.totalCommands - this.lastSample.commands) * 1000) / dt;
      this.opsSamples.push(ops);
      if (this.opsSamples.length > 16) this.opsSamples.shift();
    }
    this.lastSample = { at: now, commands: this.totalCommands };
    this.usedMemory();
  }

  instantaneousOps(): number {
    if (this.opsSamples.length === 0) return 0;
    return Math.round(this.opsSamples.reduce((a, b) => a + b, 0) / this.opsSamples.length);
  }

  resetStats(): void {
    this.totalConnections = 0;
    this.totalCommands = 0;
    this.rejectedConnections = 0;
    this.totalErrorReplies = 0;
    this.errorStats.clear();
    this.opsSamples.length = 0;
    this.lastSample = { at: Date.now(), commands: 0 };
    this.peakMemory = 0;
    for (const st of this.commandStats.values()) st.calls = st.rejected = st.failed = 0;
  }
}
