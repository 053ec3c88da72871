import { TypedEventEmitter } from '@beamgate/base';
import { globMatch } from './glob.js';
import { ConfigError } from '@beamgate/base';

/**
 * Server configuration as CONFIG GET/SET sees it. Every Redis 7.0 parameter name real tools ask for is
 * known with Redis' default; values we act on are validated as Redis does, the others are stored as given.
 * Emits 'change' (name, value) after a successful SET.
 */

const DEFAULTS: ReadonlyArray<[string, string]> = [
  ['appendonly', 'no'], ['appendfsync', 'everysec'], ['appendfilename', 'appendonly.aof'],
  ['save', ''], ['dbfilename', 'dump.rdb'], ['dir', '/'], ['databases', '16'], ['port', '6379'], ['bind', '127.0.0.1'],
  ['maxmemory', '0'], ['maxmemory-policy', 'noeviction'], ['maxmemory-samples', '5'], ['maxclients', '10000'],
  ['timeout', '0'], ['tcp-keepalive', '300'], ['tcp-backlog', '511'], ['hz', '10'], ['loglevel', 'notice'],
  ['notify-keyspace-events', ''], ['proto-max-bulk-len', String(512 * 1024 * 1024)],
  ['client-query-buffer-limit', String(1024 * 1024 * 1024)],
  ['client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'],
  ['requirepass', ''], ['masterauth', ''], ['protected-mode', 'yes'], ['daemonize', 'no'], ['cluster-enabled', 'no'],
  ['slave-read-only', 'yes'], ['replica-read-only', 'yes'], ['lazyfree-lazy-eviction', 'no'], ['io-threads', '1'],
  ['hash-max-listpack-entries', '512'], ['hash-max-ziplist-entries', '512'], ['hash-max-listpack-value', '64'],
  ['hash-max-ziplist-value', '64'], ['set-max-intset-entries', '512'], ['list-max-listpack-size', '-2'],
  ['list-max-ziplist-size', '-2'], ['zset-max-listpack-entries', '128'], ['zset-max-ziplist-entries', '128'],
  ['lua-time-limit', '5000'], ['busy-reply-threshold', '5000'], ['slowlog-log-slower-than', '10000'],
  ['slowlog-max-len', '128'], ['latency-monitor-threshold', '0'], ['activerehashing', 'yes'],
  ['stop-writes-on-bgsave-error', 'yes'], ['rdbcompression', 'yes'], ['lfu-log-factor', '10'], ['lfu-decay-time', '1'],
  ['list-compress-depth', '0'], ['repl-ping-replica-period', '10'], ['repl-timeout', '60'],
  ['min-replicas-to-write', '0'], ['min-replicas-max-lag', '10'], ['replica-serve-stale-data', 'yes'],
  ['aof-use-rdb-preamble', 'yes'], ['rdb-key-save-delay', '0'], ['key-load-delay', '0'],
  ['shutdown-on-sigint', 'default'], ['shutdown-on-sigterm', 'default'], ['enable-protected-configs', 'no'],
  ['enable-debug-command', 'no'], ['enable-module-command', 'no'], ['lazyfree-lazy-user-del', 'no'],
  ['lazyfree-lazy-expire', 'no'], ['lazyfree-lazy-server-del', 'no'], ['lazyfree-lazy-user-flush', 'no'],
  ['replica-lazy-flush', 'no'], ['loading-process-events-interval-bytes', '2097152'],
  ['replicaof', ''], ['slaveof', ''], ['maxmemory-clients', '0'], ['repl-backlog-size', '1048576'],
  // The rest of Redis 7.0's parameters, with its defaults: stored and reported, no effect on Beam (see docs/beam.md).
  ['acl-pubsub-default', 'resetchannels'], ['aclfile', ''], ['acllog-max-len', '128'],
  ['active-defrag-cycle-max', '25'], ['active-defrag-cycle-min', '1'], ['active-defrag-ignore-bytes', '104857600'],
  ['active-defrag-max-scan-fields', '1000'], ['active-defrag-threshold-lower', '10'],
  ['active-defrag-threshold-upper', '100'], ['active-expire-effort', '1'], ['activedefrag', 'no'],
  ['always-show-logo', 'no'], ['aof-disable-auto-gc', 'no'], ['aof-load-truncated', 'yes'],
  ['aof-rewrite-incremental-fsync', 'yes'], ['aof-timestamp-enabled', 'no'], ['aof_rewrite_cpulist', ''],
  ['appenddirname', 'appendonlydir'], ['auto-aof-rewrite-min-size', '67108864'],
  ['auto-aof-rewrite-percentage', '100'], ['bgsave_cpulist', ''], ['bind-source-addr', ''], ['bio_cpulist', ''],
  ['cluster-allow-pubsubshard-when-down', 'yes'], ['cluster-allow-reads-when-down', 'no'],
  ['cluster-allow-replica-migration', 'yes'], ['cluster-announce-bus-port', '0'], ['cluster-announce-hostname', ''],
  ['cluster-announce-ip', ''], ['cluster-announce-port', '0'], ['cluster-announce-tls-port', '0'],
  ['cluster-config-file', 'nodes.conf'], ['cluster-link-sendbuf-limit', '0'], ['cluster-migration-barrier', '1'],
  ['cluster-node-timeout', '15000'], ['cluster-port', '0'], ['cluster-preferred-endpoint-type', 'ip'],
  ['cluster-replica-no-failover', 'no'], ['cluster-replica-validity-factor', '10'],
  ['cluster-require-full-coverage', 'yes'], ['cluster-slave-no-failover', 'no'],
  ['cluster-slave-validity-factor', '10'], ['crash-log-enabled', 'yes'], ['crash-memcheck-enabled', 'yes'],
  ['disable-thp', 'yes'], ['dynamic-hz', 'yes'], ['hll-sparse-max-bytes', '3000'], ['ignore-warnings', ''],
  ['io-threads-do-reads', 'no'], ['jemalloc-bg-thread', 'yes'], ['latency-tracking', 'yes'],
  ['latency-tracking-info-percentiles', '50 99 99.9'], ['logfile', ''], ['masteruser', ''],
  ['maxmemory-eviction-tenacity', '10'], ['min-slaves-max-lag', '10'], ['min-slaves-to-write', '0'],
  ['no-appendfsync-on-rewrite', 'no'], ['oom-score-adj', 'no'], ['oom-score-adj-values', '0 200 800'],
  ['pidfile', ''], ['proc-title-template', '{title} {listen-addr} {server-mode}'],
  ['propagation-error-behavior', 'ignore'], ['rdb-del-sync-files', 'no'], ['rdb-save-incremental-fsync', 'yes'],
  ['rdbchecksum', 'yes'], ['repl-backlog-ttl', '3600'], ['repl-disable-tcp-nodelay', 'no'],
  ['repl-diskless-load', 'disabled'], ['repl-diskless-sync', 'yes'], ['repl-diskless-sync-delay', '5'],
  ['repl-diskless-sync-max-replicas', '0'], ['repl-ping-slave-period', '10'], ['replica-announce-ip', ''],
  ['replica-announce-port', '0'], ['replica-announced', 'yes'], ['replica-ignore-disk-write-errors', 'no'],
  ['replica-ignore-maxmemory', 'yes'], ['replica-priority', '100'], ['sanitize-dump-payload', 'no'],
  ['server_cpulist', ''], ['set-proc-title', 'yes'], ['shutdown-timeout', '10'], ['slave-announce-ip', ''],
  ['slave-announce-port', '0'], ['slave-ignore-maxmemory', 'yes'], ['slave-lazy-flush', 'no'],
  ['slave-priority', '100'], ['slave-serve-stale-data', 'yes'], ['socket-mark-id', '0'],
  ['stream-node-max-bytes', '4096'], ['stream-node-max-entries', '100'], ['supervised', 'no'],
  ['syslog-enabled', 'no'], ['syslog-facility', 'local0'], ['syslog-ident', 'redis'], ['tls-auth-clients', 'yes'],
  ['tls-ca-cert-dir', ''], ['tls-ca-cert-file', ''], ['tls-cert-file', ''], ['tls-ciphers', ''],
  ['tls-ciphersuites', ''], ['tls-client-cert-file', ''], ['tls-client-key-file', ''],
  ['tls-client-key-file-pass', ''], ['tls-cluster', 'no'], ['tls-dh-params-file', ''], ['tls-key-file', ''],
  ['tls-key-file-pass', ''], ['tls-port', '0'], ['tls-prefer-server-ciphers', 'no'], ['tls-protocols', ''],
  ['tls-replication', 'no'], ['tls-session-cache-size', '20480'], ['tls-session-cache-timeout', '300'],
  ['tls-session-caching', 'yes'], ['tracking-table-max-keys', '1000000'], ['unixsocket', ''],
  ['unixsocketperm', '0'], ['zset-max-listpack-value', '64'], ['zset-max-ziplist-value', '64'],
];

/** Redis' HIDDEN_CONFIG parameters: CONFIG GET returns them only when asked by exact name. */
const HIDDEN = new Set(['key-load-delay', 'rdb-key-save-delay', 'loading-process-events-interval-bytes']);

const IMMUTABLE = new Set(['databases', 'daemonize', 'io-threads', 'cluster-enabled', 'tcp-backlog', 'port', 'bind',
  'enable-protected-configs', 'enable-debug-command', 'enable-module-command', 'replicaof', 'slaveof']);
const BOOLEANS = new Set(['appendonly', 'protected-mode', 'slave-read-only', 'replica-read-only', 'activerehashing',
  'stop-writes-on-bgsave-error', 'rdbcompression', 'lazyfree-lazy-eviction', 'replica-serve-stale-data',
  'aof-use-rdb-preamble', 'lazyfree-lazy-user-del', 'lazyfree-lazy-expire', 'lazyfree-lazy-server-del',
  'lazyfree-lazy-user-flush', 'replica-lazy-flush']);
/** Redis' protected_action_enum settings. */
const PROTECTED_ACTIONS = new Set(['enable-protected-configs', 'enable-debug-command', 'enable-module-command']);
const MEMORY = new Set(['maxmemory', 'proto-max-bulk-len', 'client-query-buffer-limit', 'repl-backlog-size']);

/** Redis 7.0's alias pairs: setting either name sets both. */
const ALIAS_PAIRS: ReadonlyArray<[string, string]> = [
  ['hash-max-ziplist-entries', 'hash-max-listpack-entries'], ['hash-max-ziplist-value', 'hash-max-listpack-value'],
  ['zset-max-ziplist-entries', 'zset-max-listpack-entries'], ['zset-max-ziplist-value', 'zset-max-listpack-value'],
  ['list-max-ziplist-size', 'list-max-listpack-size'], ['lua-time-limit', 'busy-reply-threshold'],
  ['slave-read-only', 'replica-read-only'], ['slave-serve-stale-data', 'replica-serve-stale-data'],
  ['slave-lazy-flush', 'replica-lazy-flush'], ['slave-ignore-maxmemory', 'replica-ignore-maxmemory'],
  ['slave-priority', 'replica-priority'], ['slave-announce-ip', 'replica-announce-ip'],
  ['slave-announce-port', 'replica-announce-port'], ['min-slaves-to-write', 'min-replicas-to-write'],
  ['min-slaves-max-lag', 'min-replicas-max-lag'], ['repl-ping-slave-period', 'repl-ping-replica-period'],
  ['cluster-slave-validity-factor', 'cluster-replica-validity-factor'],
  ['cluster-slave-no-failover', 'cluster-replica-no-failover'], ['slaveof', 'replicaof'],
];
const ALIASES = new Map<string, string>([...ALIAS_PAIRS, ...ALIAS_PAIRS.map(([a, b]): [string, string] => [b, a])]);
/** Parameters whose Redis default is yes/no take only yes/no; integer ones only integers (memory units allowed). */
const DEFAULT_OF = new Map<string, string>(DEFAULTS);

/** notify-keyspace-events flag bits, as Redis defines them. */
export const NOTIFY = {
  K: 1, E: 2, g: 4, $: 8, l: 16, s: 32, h: 64, z: 128, x: 256, e: 512, t: 1024, m: 2048, d: 4096, n: 8192,
} as const;
/** `A`: every class except key-miss (m) and new-key (n). */
export const NOTIFY_ALL = NOTIFY.g | NOTIFY.$ | NOTIFY.l | NOTIFY.s | NOTIFY.h | NOTIFY.z | NOTIFY.x | NOTIFY.e | NOTIFY.t | NOTIFY.d;

/** Parses a notify-keyspace-events string; null for a character Redis refuses. */
export function parseNotifyFlags(s: string): number | null {
  let flags = 0;
  for (const ch of s) {
    if (ch === 'A') flags |= NOTIFY_ALL;
    else if (Object.hasOwn(NOTIFY, ch)) flags |= NOTIFY[ch as keyof typeof NOTIFY];
    else return null;
  }
  return flags;
}

/** The canonical text Redis reports for notify flags (keyspaceEventsFlagsToString). */
export function notifyFlagsToString(flags: number): string {
  let s = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) s = 'A';
  else for (const ch of 'g$lshzxetdn') if (flags & NOTIFY[ch as keyof typeof NOTIFY]) s += ch;
  if (flags & NOTIFY.K) s += 'K';
  if (flags & NOTIFY.E) s += 'E';
  if (flags & NOTIFY.m) s += 'm';
  return s;
}

/** Parses Redis memory values: 100, 1k, 1kb, 1m, 1mb, 1g, 1gb (k = 1000, kb = 1024). */
export function parseMemory(s: string): number | null {
  const m = /^(-?\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(s);
  if (!m) return null;
  const mult: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 * 1024, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * mult[(m[2] ?? '').toLowerCase()]!;
}

export { ConfigError };

/** Events of a ServerConfig. */
export interface ServerConfigEvents {
  /** A parameter was set (also emitted for its alias). */
  change: [name: string, value: string];
}

export class ServerConfig extends TypedEventEmitter<ServerConfigEvents> {
  private readonly values = new Map<string, string>(DEFAULTS);
  /** Parsed notify-keyspace-events, kept current for the notifier's hot path. */
  notifyFlags = 0;

  constructor(initial: Record<string, string> = {}) {
    super();
    for (const [k, v] of Object.entries(initial)) this.set(k, v, true);
  }

  get(name: string): string | undefined {
    return this.values.get(name.toLowerCase());
  }

  /** CONFIG GET: every parameter matching one of the (case-insensitive) glob patterns, each once. */
  match(patterns: string[]): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const p of patterns) {
      const pat = Buffer.from(p.toLowerCase());
      for (const [k, v] of this.values) {
        if (seen.has(k)) continue;
        if (HIDDEN.has(k) && p.toLowerCase() !== k) continue;
        if (globMatch(pat, Buffer.from(k), true)) {
          seen.add(k);
          out.push([k, v]);
        }
      }
    }
    return out;
  }

  /**
   * Validates and stores one parameter; throws ConfigError with Redis' reason text. `startup` (the server's own
   * options, like redis.conf) may set immutable parameters.
   */
  set(name: string, value: string, startup = false): void {
    const key = name.toLowerCase();
    if (!this.values.has(key)) throw new ConfigError(`Unknown option or number of arguments for CONFIG SET - '${name}'`, { code: 'CONFIG_UNKNOWN' });
    const fail = (why: string): never => {
      throw new ConfigError(`CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
    };
    let v = value;
    if (IMMUTABLE.has(key) && !startup) {
      // Redis re-listens on a changed port or bind address; setting the value it already has is a no-op there too.
      if ((key === 'port' || key === 'bind') && this.values.get(key) === value) return;
      throw new ConfigError(`CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`, { code: 'CONFIG_IMMUTABLE' });
    }
    if (key === 'notify-keyspace-events') {
      const flags = parseNotifyFlags(value);
      if (flags === null) fail(`Invalid event class character. Use 'Ag$lshzxeKEtmdn'.`);
      this.notifyFlags = flags!;
      v = notifyFlagsToString(flags!);
    } else if (PROTECTED_ACTIONS.has(key)) {
      const b = value.toLowerCase();
      if (b !== 'yes' && b !== 'no' && b !== 'local') fail('argument(s) must be one of the following: no, yes, local');
      v = b;
    } else if (BOOLEANS.has(key) || DEFAULT_OF.get(key) === 'yes' || DEFAULT_OF.get(key) === 'no') {
      const b = value.toLowerCase();
      if (b !== 'yes' && b !== 'no') fail('argument must be \'yes\' or \'no\'');
      v = b;
    } else if (key === 'maxmemory-clients' && value.endsWith('%')) {
      const pct = Number(value.slice(0, -1));
      if (!/^\d+%$/.test(value)) fail('argument must be a memory or percent value');
      if (pct > 100) fail('percentage argument must be less or equal to 100');
    } else if (MEMORY.has(key) || key === 'maxmemory-clients') {
      const n = parseMemory(value);
      if (n === null || n < 0) fail('argument must be a memory value');
      v = String(n);
    } else if (/^-?\d+$/.test(DEFAULT_OF.get(key) ?? '')) {
      const n = parseMemory(value);
      if (n === null || !Number.isSafeInteger(n)) fail('argument couldn\'t be parsed into an integer');
      v = String(n);
    }
    this.values.set(key, v);
    this.emit('change', key, v);
    const alias = ALIASES.get(key);
    if (alias !== undefined && this.values.has(alias)) {
      this.values.set(alias, v);
      this.emit('change', alias, v);
    }
  }
}
