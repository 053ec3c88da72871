/**
 * Fair input: a session parses at most `turnBytes` octets per event-loop turn. Transports read a busy socket many
 * times in one poll phase (libuv: up to 32 reads of 64 KiB); parsing and answering all of it at once lets one
 * flooding peer hold the loop while other sessions, and the accept of new connections, wait. What is over the
 * budget is kept (at most what the transport had read when it was told to pause) and parsed on the next turns,
 * after a setImmediate, and the transport does not read while such a backlog is pending.
 */
export interface PacedInput {
  /** Parse these octets now. */
  consume(chunk: Buffer): void;
  /** A backlog appeared (true) or was worked off (false): stop / restart reading the transport. */
  backlogged(pending: boolean): void;
}

export class InputPacer {
  private backlog: Buffer[] = [];
  private turnBytes = 0;
  private turnScheduled = false;
  private paused = false;
  private stopped = false;
  private readonly nextTurn = (): void => this.onTurn();

  constructor(
    private readonly input: PacedInput,
    private readonly turnBytesLimit: number,
  ) {}

  /** True while octets wait for a later turn. */
  get pending(): boolean {
    return this.backlog.length > 0;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.backlog.length > 0) this.backlog.push(chunk);
    else this.take(chunk);
    this.sync();
  }

  /**
   * Hand the whole backlog to `consume` now, whatever the budget (tuning: octets read from the old byte stream must
   * be parsed, or held, before the stream is swapped).
   */
  flush(): void {
    while (this.backlog.length > 0 && !this.stopped) this.input.consume(this.backlog.shift() as Buffer);
    this.sync();
  }

  /** Drop the backlog for good (the session ended). */
  stop(): void {
    this.stopped = true;
    this.backlog = [];
  }

  /** Parse what fits in this turn's budget; the rest goes first in the backlog. */
  private take(chunk: Buffer): void {
    if (!this.turnScheduled) {
      // The budget resets once the loop has gone round (other sockets, accepts and timers had their go).
      this.turnScheduled = true;
      setImmediate(this.nextTurn);
    }
    const room = this.turnBytesLimit - this.turnBytes;
    let now = chunk;
    if (chunk.length > room) {
      this.backlog.unshift(chunk.subarray(room));
      now = chunk.subarray(0, room);
    }
    if (now.length === 0) return;
    this.turnBytes += now.length;
    this.input.consume(now);
  }

  private onTurn(): void {
    this.turnScheduled = false;
    this.turnBytes = 0;
    while (this.backlog.length > 0 && this.turnBytes < this.turnBytesLimit && !this.stopped) {
      this.take(this.backlog.shift() as Buffer);
    }
    this.sync();
  }

  private sync(): void {
    const pending = this.backlog.length > 0 && !this.stopped;
    if (pending === this.paused) return;
    this.paused = pending;
    this.input.backlogged(pending);
  }
}
