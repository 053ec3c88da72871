import type { KeyspaceEvent } from './api.js';
import { globMatch } from './glob.js';
import { NOTIFY, type ServerConfig } from './config.js';

/** Receives published messages (a connection, or any in-process listener). */
export interface Subscriber {
  /** kind 'message': [channel, payload]; kind 'pmessage': [pattern, channel, payload]. */
  deliver(kind: 'message' | 'pmessage', pattern: Buffer | null, channel: Buffer, payload: Buffer): void;
}

interface PatternEntry {
  pattern: Buffer;
  subs: Set<Subscriber>;
}

/**
 * Channels and patterns of one Context. Channel names are binary; they are keyed by their latin1 text
 * (a lossless 1:1 byte mapping). Subscribers are notified in subscription order.
 */
export class PubSubHub {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private readonly patterns = new Map<string, PatternEntry>();

  /** Returns false when `sub` was already subscribed. */
  subscribe(sub: Subscriber, channel: Buffer): boolean {
    const k = channel.toString('latin1');
    let set = this.channels.get(k);
    if (!set) this.channels.set(k, (set = new Set()));
    if (set.has(sub)) return false;
    set.add(sub);
    return true;
  }

  unsubscribe(sub: Subscriber, channel: Buffer): boolean {
    const k = channel.toString('latin1');
    const set = this.channels.get(k);
    if (!set || !set.delete(sub)) return false;
    if (set.size === 0) this.channels.delete(k);
    return true;
  }

  psubscribe(sub: Subscriber, pattern: Buffer): boolean {
    const k = pattern.toString('latin1');
    let e = this.patterns.get(k);
    if (!e) this.patterns.set(k, (e = { pattern: Buffer.from(pattern), subs: new Set() }));
    if (e.subs.has(sub)) return false;
    e.subs.add(sub);
    return true;
  }

  punsubscribe(sub: Subscriber, pattern: Buffer): boolean {
    const k = pattern.toString('latin1');
    const e = this.patterns.get(k);
    if (!e || !e.subs.delete(sub)) return false;
    if (e.subs.size === 0) this.patterns.delete(k);
    return true;
  }

  /** Delivers to channel subscribers, then pattern subscribers; returns the number of receivers. */
  publish(channel: Buffer, payload: Buffer): number {
    let n = 0;
    const set = this.channels.get(channel.toString('latin1'));
    if (set) {
      for (const s of [...set]) {
        s.deliver('message', null, channel, payload);
        n++;
      }
    }
    if (this.patterns.size > 0) {
      for (const e of [...this.patterns.values()]) {
        if (!globMatch(e.pattern, channel)) continue;
        for (const s of [...e.subs]) {
          s.deliver('pmessage', e.pattern, channel, payload);
          n++;
        }
      }
    }
    return n;
  }

  /** PUBSUB CHANNELS [pattern] */
  activeChannels(pattern?: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (const k of this.channels.keys()) {
      const b = Buffer.from(k, 'latin1');
      if (!pattern || globMatch(pattern, b)) out.push(b);
    }
    return out;
  }

  numSub(channel: Buffer): number {
    return this.channels.get(channel.toString('latin1'))?.size ?? 0;
  }

  /** PUBSUB NUMPAT: distinct patterns with at least one subscriber. */
  numPat(): number {
    return this.patterns.size;
  }
}

const hubs = new WeakMap<object, PubSubHub>();

/** The one hub of a context (created on first use). */
export function hubFor(context: object): PubSubHub {
  let h = hubs.get(context);
  if (!h) hubs.set(context, (h = new PubSubHub()));
  return h;
}

const CLASS_BITS: Record<KeyspaceEvent['cls'], number> = {
  $: NOTIFY.$, l: NOTIFY.l, h: NOTIFY.h, s: NOTIFY.s, z: NOTIFY.z, g: NOTIFY.g, x: NOTIFY.x, e: NOTIFY.e,
  t: NOTIFY.t, n: NOTIFY.n,
};

/**
 * Publishes keyspace notifications (`__keyspace@<db>__:<key>` -> event, `__keyevent@<db>__:<event>` -> key)
 * for a context's 'keyspace' events, filtered by the config's notify-keyspace-events. Returns a detach function.
 */
export function attachKeyspaceNotifier(
  context: {
    on(ev: 'keyspace', l: (e: KeyspaceEvent) => void): unknown;
    off(ev: 'keyspace', l: (e: KeyspaceEvent) => void): unknown;
    /** Set while notify-keyspace-events has `n` (the Context emits 'new' events only then). */
    newKeyEvents?: boolean;
  },
  hub: PubSubHub,
  config: ServerConfig,
): () => void {
  const listener = (e: KeyspaceEvent): void => {
    const flags = config.notifyFlags;
    if (flags === 0 || !(flags & CLASS_BITS[e.cls])) return;
    const event = Buffer.from(e.event);
    if (flags & NOTIFY.K) {
      hub.publish(Buffer.concat([Buffer.from(`__keyspace@${e.db}__:`), e.key]), event);
    }
    if (flags & NOTIFY.E) {
      hub.publish(Buffer.from(`__keyevent@${e.db}__:${e.event}`), e.key);
    }
  };
  // Listen only while notifications are enabled: the context skips building events nobody listens to.
  let attached = false;
  const sync = (): void => {
    const want = config.notifyFlags !== 0;
    if ('newKeyEvents' in context) context.newKeyEvents = (config.notifyFlags & NOTIFY.n) !== 0;
    if (want && !attached) context.on('keyspace', listener);
    if (!want && attached) context.off('keyspace', listener);
    attached = want;
  };
  sync();
  config.on('change', sync);
  return () => {
    config.off('change', sync);
    if (attached) context.off('keyspace', listener);
    if ('newKeyEvents' in context) context.newKeyEvents = false;
    attached = false;
  };
}
