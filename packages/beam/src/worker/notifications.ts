/**
 * Keyspace notifications from every node that holds job keys. Redis publishes a key's notifications only on the
 * node that owns it, so on a Cluster there is one subscriber per master, kept in step with the topology; on a
 * standalone or Sentinel-managed server, one subscriber that follows the master. Each node is asked to enable
 * the notification classes the worker needs (CONFIG SET) whenever a connection to it becomes ready.
 *
 * Events: 'message' (channel: string, message: Buffer), 'config' (node, flags), 'warning' (text),
 * 'subscriber' (the ioredis client of a new subscriber).
 */
import { TypedEventEmitter } from '@beamgate/base';
import { Redis } from 'ioredis';
import { mergeNotifyFlags, missingNotifyFlags, NOTIFY_FLAGS } from './keys.js';
import { isCluster, type RedisLike } from './target.js';

function nodeName(r: Redis): string {
  const s = (r as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  if (s?.remoteAddress && s.remotePort) return `${s.remoteAddress}:${s.remotePort}`;
  const o = r.options;
  return o.path ? `unix:${o.path}` : `${o.host}:${o.port}`;
}

/** Events of Notifications. */
export interface NotificationsEvents {
  message: [channel: string, message: Buffer];
  config: [node: string, flags: string];
  warning: [text: string];
  /** A subscriber connection was made (one per Cluster master), for the worker's master gate. */
  subscriber: [sub: Redis];
}

export class Notifications extends TypedEventEmitter<NotificationsEvents> {
  private readonly subscribers = new Map<string, Redis>();
  private readonly channels = new Set<string>();
  private closed = false;
  private readonly onTopology = (): void => this.syncNodes();

  constructor(private readonly redis: RedisLike) {
    super();
  }

  async start(): Promise<void> {
    if (isCluster(this.redis)) {
      this.redis.on('refresh', this.onTopology);
      this.redis.on('+node', this.onTopology);
      this.redis.on('-node', this.onTopology);
      this.syncNodes();
    } else {
      const main = this.redis;
      let first = main.status === 'ready';
      main.on('ready', () => {
        void this.enable(main);
        // Reconnected (a restart, a Sentinel failover): the subscriber follows to wherever the master is now.
        // Sentinel only kills normal clients of a demoted master, not subscribers.
        if (first) this.subscribers.get('main')?.disconnect(true);
        first = true;
      });
      if (main.status === 'ready') await this.enable(main);
      this.add('main', main.duplicate());
    }
    await Promise.all([...this.subscribers.values()].map((s) => (s.status === 'ready' ? undefined : new Promise((r) => s.once('ready', r)))));
  }

  /** Nodes subscribed to (host:port of each master, or 'main'). */
  nodes(): string[] {
    return [...this.subscribers.keys()];
  }

  /** The subscriber connections. */
  connections(): Redis[] {
    return [...this.subscribers.values()];
  }

  async subscribe(channels: string[]): Promise<void> {
    for (const c of channels) this.channels.add(c);
    await Promise.all([...this.subscribers.values()].map((s) => s.subscribe(...channels).catch(() => {})));
  }

  unsubscribe(channels: string[]): void {
    for (const c of channels) this.channels.delete(c);
    for (const s of this.subscribers.values()) void s.unsubscribe(...channels).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    if (isCluster(this.redis)) {
      this.redis.off('refresh', this.onTopology);
      this.redis.off('+node', this.onTopology);
      this.redis.off('-node', this.onTopology);
    }
    for (const s of this.subscribers.values()) s.disconnect();
    this.subscribers.clear();
  }

  /** Cluster: one subscriber per current master; masters that left are dropped. */
  private syncNodes(): void {
    if (this.closed || !isCluster(this.redis)) return;
    const masters = new Map(this.redis.nodes('master').map((n) => [nodeName(n), n] as const));
    for (const [name, sub] of this.subscribers) {
      if (!masters.has(name)) {
        sub.disconnect();
        this.subscribers.delete(name);
      }
    }
    for (const [name, node] of masters) {
      if (this.subscribers.has(name)) continue;
      node.on('ready', () => void this.enable(node));
      if (node.status === 'ready') void this.enable(node);
      this.add(name, new Redis({ ...node.options, lazyConnect: false, enableAutoPipelining: false }));
    }
  }

  private add(name: string, sub: Redis): void {
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.emit('message', channel.toString('latin1'), message));
    sub.on('error', () => {}); // reconnects by itself; the command client reports outages
    this.subscribers.set(name, sub);
    this.emit('subscriber', sub);
    if (this.channels.size > 0) void sub.subscribe(...this.channels).catch(() => {});
  }

  /** Turns on the notification classes the worker needs, keeping those already on. */
  private async enable(node: Redis): Promise<void> {
    try {
      const r = (await node.config('GET', 'notify-keyspace-events')) as unknown as string[];
      const current = r[1] ?? '';
      if (missingNotifyFlags(current, NOTIFY_FLAGS) === '') return;
      const flags = mergeNotifyFlags(current, NOTIFY_FLAGS);
      await node.config('SET', 'notify-keyspace-events', flags);
      this.emit('config', nodeName(node), flags);
    } catch (e) {
      this.emit(
        'warning',
        `cannot enable keyspace notifications on ${nodeName(node)} (${(e as Error).message}): set notify-keyspace-events to include ` +
          `${NOTIFY_FLAGS} there; until then jobs start within the reconciliation interval`,
      );
    }
  }
}
