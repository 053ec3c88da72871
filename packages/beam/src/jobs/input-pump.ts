import { Readable } from 'node:stream';
import { parseFrame } from './frames.js';

/** How an InputPump takes frames from `/jobs/$id/in` (LPOP through the context). */
export interface InListIO {
  pop(): Promise<Buffer | null>;
}

/**
 * Moves input frames from `/jobs/$id/in` into the handler's input Readables, one frame at a time, and stops
 * popping while the stream that got the last frame is over its highWaterMark. Frames for a stream the handler
 * does not read wait behind it (head-of-line), so memory stays bounded by the list limits plus one
 * highWaterMark per stream.
 */
export class InputPump {
  private readonly streams = new Map<number, FrameReadable>();
  private blockedOn: number | null = null;
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly io: InListIO,
    private readonly maxStream: number,
    private readonly highWaterMark: number,
    /** Told the size of every popped frame (the engine's input byte count). */
    private readonly onPopped: (bytes: number) => void,
  ) {}

  stream(n: number): Readable {
    return this.get(n);
  }

  private get(n: number): FrameReadable {
    let s = this.streams.get(n);
    if (!s) {
      s = new FrameReadable(this, n, this.highWaterMark);
      this.streams.set(n, s);
      if (this.stopped) {
        s.closedByFrame = true;
        s.push(null);
      }
    }
    return s;
  }

  /** New frames may be in the list (an `rpush` event), or a blocked stream was read. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.run().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Called by a stream's _read: it wants more. */
  wants(n: number): void {
    if (this.blockedOn === n) {
      this.blockedOn = null;
      this.kick();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.blockedOn === null) {
      let raw: Buffer | null;
      try {
        raw = await this.io.pop();
      } catch {
        return;
      }
      if (raw === null || this.stopped) return;
      this.onPopped(raw.length);
      const frame = parseFrame(raw, this.maxStream);
      if (!frame) continue; // refused by the command filter; only possible without one
      const s = this.get(frame.stream);
      if (s.readableEnded || s.destroyed || s.closedByFrame) continue;
      if (frame.data === null) {
        s.closedByFrame = true;
        s.push(null);
      } else if (!s.push(frame.data)) {
        this.blockedOn = frame.stream;
      }
    }
  }

  /** The job exited: end every stream and stop popping. */
  stop(): void {
    this.stopped = true;
    for (const s of this.streams.values()) {
      if (!s.closedByFrame && !s.destroyed) {
        s.closedByFrame = true;
        s.push(null);
      }
    }
  }
}

class FrameReadable extends Readable {
  /** EOF was pushed (close frame or job exit). */
  closedByFrame = false;
  constructor(
    private readonly pump: InputPump,
    private readonly n: number,
    highWaterMark: number,
  ) {
    super({ highWaterMark });
  }

  override _read(): void {
    this.pump.wants(this.n);
  }
}
