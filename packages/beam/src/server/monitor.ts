import { performance } from 'node:perf_hooks';
import type { CommandSpec } from '../context/api.js';
import type { DispatchClient } from '../context/dispatch.js';
import { SimpleString } from '../wire/reply.js';

/**
 * Subcommands Redis 7.0 flags `admin` although their container command is not: they are never shown to
 * monitors (Redis hides administrative commands), like every command whose own flags include `admin`.
 */
const ADMIN_SUBCOMMANDS = new Set([
  'client|kill', 'client|list', 'client|pause', 'client|unpause', 'client|no-evict', 'client|tracking',
  'object|freq', 'memory|purge', 'latency|reset', 'latency|doctor', 'latency|graph', 'latency|histogram',
  'latency|history', 'latency|latest', 'slowlog|get', 'slowlog|len', 'slowlog|reset', 'debug|sleep',
]);

/** Redis' sdscatrepr: the argument in double quotes, with C escapes and \xhh for non-printable bytes. */
export function reprArg(b: Buffer): string {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    switch (c) {
      case 0x5c: s += '\\\\'; break;
      case 0x22: s += '\\"'; break;
      case 0x0a: s += '\\n'; break;
      case 0x0d: s += '\\r'; break;
      case 0x09: s += '\\t'; break;
      case 0x07: s += '\\a'; break;
      case 0x08: s += '\\b'; break;
      default:
        s += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    }
  }
  return `${s}"`;
}

const REDACTED = '"(redacted)"';

/** The arguments as MONITOR prints them, with AUTH passwords and HELLO's AUTH pair redacted as Redis does. */
function formatArgs(spec: CommandSpec, argv: Buffer[]): string {
  const parts = argv.map(reprArg);
  if (spec.name === 'auth') {
    for (let i = 1; i < parts.length; i++) parts[i] = REDACTED;
  } else if (spec.name === 'hello') {
    for (let i = 2; i < argv.length; i++) {
      if (argv[i]!.toString('latin1').toLowerCase() === 'auth' && i + 2 < argv.length) {
        parts[i + 1] = REDACTED;
        parts[i + 2] = REDACTED;
        i += 2;
      }
    }
  }
  return parts.join(' ');
}

function hidden(spec: CommandSpec, argv: Buffer[]): boolean {
  if (spec.flags.includes('admin') || spec.flags.includes('skip_monitor')) return true;
  const sub = argv[1];
  return sub !== undefined && ADMIN_SUBCOMMANDS.has(`${spec.name}|${sub.toString('latin1').toLowerCase()}`);
}

/**
 * The server's MONITOR clients. Every command a (non-internal) client executes is sent to each of them as
 * `+<unix time with microseconds> [<db> <addr>] "cmd" "arg"...`, after it ran (so SELECT shows the new db, and
 * EXEC follows the commands it ran), like Redis 7.0.
 */
export class Monitors {
  private readonly clients = new Set<DispatchClient>();

  /** `onActive(true)` when the first monitor arrives, `onActive(false)` when the last one leaves. */
  constructor(private readonly onActive: (active: boolean) => void) {}

  get size(): number {
    return this.clients.size;
  }

  has(c: DispatchClient): boolean {
    return this.clients.has(c);
  }

  add(c: DispatchClient): void {
    if (this.clients.has(c) || c.closed) return;
    this.clients.add(c);
    c.monitor = true;
    c.signal.addEventListener('abort', () => this.remove(c), { once: true });
    if (this.clients.size === 1) this.onActive(true);
  }

  remove(c: DispatchClient): void {
    if (!this.clients.delete(c)) return;
    c.monitor = false;
    if (this.clients.size === 0) this.onActive(false);
  }

  /** The Dispatcher.onExecuted hook. */
  readonly feed = (c: DispatchClient, spec: CommandSpec, argv: Buffer[]): void => {
    if (this.clients.size === 0 || c.internal || hidden(spec, argv)) return;
    const t = performance.timeOrigin + performance.now();
    const sec = Math.floor(t / 1000);
    const usec = Math.min(999999, Math.floor((t - sec * 1000) * 1000));
    const addr = c.addr === '/unix' || c.addr === '' ? `unix:${c.laddr}` : c.addr;
    const line = new SimpleString(`${sec}.${String(usec).padStart(6, '0')} [${c.db} ${addr}] ${formatArgs(spec, argv)}`);
    for (const m of this.clients) m.onPush?.(line);
  };
}
