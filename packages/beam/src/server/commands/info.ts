import os from 'node:os';
import type { CommandSpec } from '../../context/api.js';
import { RespVerbatim } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, spec } from './spec.js';
import { replicationInfo } from '../replication.js';
import { saveState } from '../persistence.js';
import { scriptEngineOf } from './scripting.js';
import { trackingFor } from '../tracking/tracking.js';

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];
const ALL_SECTIONS = [...DEFAULT_SECTIONS, 'commandstats', 'latencystats'];

function human(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(2)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)}M`;
  return `${(n / 1024 ** 3).toFixed(2)}G`;
}

/** Builds INFO text: `# Section` then `field:value` lines, CRLF separated, sections joined by a blank line. */
export function infoText(scope: CommandScope, sections: string[]): string {
  const { env, context } = scope;
  const now = Date.now();
  const uptime = Math.floor((now - env.registry.startedAt) / 1000);
  const clients = [...env.registry.clients.values()].filter((c) => !c.internal);
  const tracking = trackingFor(scope.dispatcher);
  const mem = process.memoryUsage();
  const used = env.registry.usedMemory();
  const cpu = process.cpuUsage();
  const saved = context ? saveState(context) : undefined;
  const build: Record<string, () => Array<[string, string | number]>> = {
    server: () => [
      ['redis_version', env.version], ['redis_git_sha1', '00000000'], ['redis_git_dirty', 0], ['redis_build_id', '0'],
      ['redis_mode', 'standalone'], ['os', `${os.type()} ${os.release()} ${os.arch()}`], ['arch_bits', 64],
      ['multiplexing_api', 'node'], ['process_id', process.pid], ['process_supervised', 'no'], ['run_id', env.runId],
      ['tcp_port', env.port()], ['server_time_usec', now * 1000], ['uptime_in_seconds', uptime],
      ['uptime_in_days', Math.floor(uptime / 86400)], ['hz', 10], ['configured_hz', 10], ['executable', process.execPath],
      ['config_file', ''], ['io_threads_active', 0], ['beam_server', env.serverName === 'redis' ? 'beamgate' : env.serverName],
    ],
    clients: () => [
      ['connected_clients', clients.length], ['cluster_connections', 0], ['maxclients', env.config.get('maxclients') ?? '10000'],
      ['client_recent_max_input_buffer', 0], ['client_recent_max_output_buffer', 0], ['blocked_clients', context?.blocking.count ?? 0],
      ['tracking_clients', tracking.clients], ['clients_in_timeout_table', 0],
    ],
    memory: () => [
      ['used_memory', used], ['used_memory_human', human(used)],
      ['used_memory_rss', mem.rss], ['used_memory_rss_human', human(mem.rss)], ['used_memory_peak', env.registry.peakMemory],
      ['used_memory_peak_human', human(env.registry.peakMemory)], ['total_system_memory', os.totalmem()],
      ['total_system_memory_human', human(os.totalmem())], ['maxmemory', env.config.get('maxmemory') ?? '0'],
      ['maxmemory_human', human(Number(env.config.get('maxmemory') ?? 0))],
      ['maxmemory_policy', env.config.get('maxmemory-policy') ?? 'noeviction'], ['mem_allocator', 'v8'],
      ['number_of_cached_scripts', scriptEngineOf(scope.dispatcher)?.scriptCount ?? 0],
    ],
    persistence: () => [
      ['loading', 0], ['async_loading', 0], ['rdb_changes_since_last_save', saved ? context!.dirty - saved.dirtyAtSave : 0],
      ['rdb_bgsave_in_progress', saved?.inProgress ? 1 : 0],
      ['rdb_last_save_time', saved ? saved.lastSave : Math.floor(env.registry.startedAt / 1000)],
      ['rdb_last_bgsave_status', saved?.lastStatus ?? 'ok'], ['aof_enabled', 0], ['aof_rewrite_in_progress', 0],
      ['aof_last_bgrewrite_status', 'ok'], ['aof_last_write_status', 'ok'],
    ],
    stats: () => [
      ['total_connections_received', env.registry.totalConnections],
      ['total_commands_processed', env.registry.totalCommands], ['instantaneous_ops_per_sec', env.registry.instantaneousOps()],
      ['rejected_connections', env.registry.rejectedConnections], ['expired_keys', context?.stats.expiredKeys ?? 0],
      ['evicted_keys', 0], ['keyspace_hits', context?.stats.keyspaceHits ?? 0],
      ['keyspace_misses', context?.stats.keyspaceMisses ?? 0],
      ['pubsub_channels', scope.dispatcher.hub.activeChannels().length], ['pubsub_patterns', scope.dispatcher.hub.numPat()],
      ['tracking_total_keys', tracking.keys], ['tracking_total_items', tracking.items],
      ['tracking_total_prefixes', tracking.prefixes],
      ['total_error_replies', env.registry.totalErrorReplies],
      // MIGRATE is not implemented: no cached connections to other servers, ever.
      ['migrate_cached_sockets', 0],
    ],
    replication: () => replicationInfo(context, env.runId),
    cpu: () => [
      ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)], ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
      ['used_cpu_sys_children', '0.000000'], ['used_cpu_user_children', '0.000000'],
    ],
    modules: () => [],
    errorstats: () => [...env.registry.errorStats].map(([code, n]) => [`errorstat_${code}`, `count=${n}`]),
    cluster: () => [['cluster_enabled', 0]],
    // No timing is kept (usec 0): measuring every command would cost the hot path more than it tells.
    commandstats: () => [...env.registry.commandStats]
      .filter(([, st]) => st.calls + st.rejected + st.failed > 0)
      .map(([name, st]) => [`cmdstat_${name}`,
        `calls=${st.calls},usec=0,usec_per_call=0.00,rejected_calls=${st.rejected},failed_calls=${st.failed}`]),
    latencystats: () => [],
    keyspace: () => (context?.keyspaceInfo() ?? [])
      .filter((k) => k.keys > 0)
      .map((k) => [`db${k.db}`, `keys=${k.keys},expires=${k.expires},avg_ttl=${k.avgTtl}`]),
  };
  const title = (s: string): string => s === 'cpu' ? 'CPU' : s.charAt(0).toUpperCase() + s.slice(1);
  let want: string[];
  if (sections.length === 0 || sections.includes('default')) want = DEFAULT_SECTIONS;
  else if (sections.includes('all') || sections.includes('everything')) want = ALL_SECTIONS;
  else want = ALL_SECTIONS.filter((s) => sections.includes(s));
  const parts: string[] = [];
  for (const s of want) {
    const lines = build[s]!();
    parts.push(`# ${title(s)}\r\n${lines.map(([k, v]) => `${k}:${v}\r\n`).join('')}`);
  }
  return parts.join('\r\n');
}

export function infoCommands(scope: CommandScope): CommandSpec[] {
  return [
    spec('info', -1, ['loading', 'stale'], (inv) => {
      const text = infoText(scope, inv.argv.slice(1).map((b) => b.toString().toLowerCase()));
      return clientOf(inv).resp === 3 ? new RespVerbatim('txt', text) : text;
    }),
  ];
}
