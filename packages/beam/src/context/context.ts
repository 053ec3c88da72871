import type { Buffer } from 'node:buffer';
import type { ClientState, CommandInvocation, CommandResult, CommandSpec } from './api.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import type { Waiter } from './blocking.js';
import { COMMAND_TABLE } from './command-table.js';
import type { Db, Entry } from './store.js';
import { Keyspace, type Impl } from './keyspace.js';
export type { ContextEvents } from './keyspace.js';
import type { ContextOptions } from './options.js';
import { STRING_COMMANDS } from './cmd-strings.js';
import { KEY_COMMANDS } from './cmd-keys.js';
import { LIST_COMMANDS } from './cmd-lists.js';
import { BLOCKING_LIST_COMMANDS, serveWaiter } from './cmd-lists-blocking.js';
import { HASH_COMMANDS } from './cmd-hashes.js';
import { SET_COMMANDS } from './cmd-sets.js';
import { ZSET_COMMANDS } from './cmd-zsets.js';
import { BIT_COMMANDS, BIT_TABLE } from './cmd-bits.js';
import { SORT_COMMANDS, SORT_TABLE } from './cmd-sort.js';
import { DUMP_COMMANDS, DUMP_TABLE } from './cmd-dump.js';
import { HLL_COMMANDS, HLL_TABLE } from './cmd-hll.js';
import { GEO_COMMANDS, GEO_TABLE } from './cmd-geo.js';
import { STREAM_COMMANDS } from './cmd-streams.js';
import { ZSET_MULTI_COMMANDS } from './cmd-zsets-multi.js';

export type { Impl } from './keyspace.js';
export { DEFAULT_LCS_MAX_TABLE_BYTES, type ContextOptions, type KeyObserver, type KeyspaceInfo, type SnapshotEntry } from './options.js';

interface RegisteredCommand {
  spec: CommandSpec;
  impl: Impl;
  write: boolean;
}

/** Invocation object built by `call()` for filters; propagate() replaces what replicas receive. */
class Invocation implements CommandInvocation {
  constructor(
    readonly argv: Buffer[],
    readonly client: ClientState,
    private readonly ctx: Keyspace,
  ) {}
  propagate(commands: Buffer[][]): void {
    this.ctx.propagateAs(commands);
  }
}

/**
 * The embedded keyspace: 16 databases of strings, lists, hashes, sets, sorted sets and streams with Redis 7
 * semantics. The data and its bookkeeping are `Keyspace`'s (keyspace.ts); this class registers the data commands
 * of `cmd-*.ts` and runs them.
 *
 * Events (emitted after the command that caused them has finished, before `call()` returns):
 * - 'keyspace' (KeyspaceEvent) for every modification, with Redis' notification names and classes;
 * - 'flush' (FlushEvent) for FLUSHDB/FLUSHALL (db -1) and both databases of SWAPDB;
 * - 'propagate' (PropagateEvent) for every write replicas must apply, rewritten deterministically.
 */
export class Context extends Keyspace {
  readonly commands = new Map<string, CommandSpec>();
  private readonly registered = new Map<string, RegisteredCommand>();

  constructor(opts: ContextOptions = {}) {
    super(opts);
    const impls: Record<string, Impl> = {
      ...STRING_COMMANDS,
      ...KEY_COMMANDS,
      ...LIST_COMMANDS,
      ...BLOCKING_LIST_COMMANDS,
      ...HASH_COMMANDS,
      ...SET_COMMANDS,
      ...ZSET_COMMANDS,
      ...BIT_COMMANDS,
      ...SORT_COMMANDS,
      ...DUMP_COMMANDS,
      ...HLL_COMMANDS,
      ...GEO_COMMANDS,
      ...STREAM_COMMANDS,
      ...ZSET_MULTI_COMMANDS,
    };
    for (const [name, arity, flags, firstKey, lastKey, step] of [...COMMAND_TABLE, ...BIT_TABLE, ...SORT_TABLE, ...DUMP_TABLE, ...HLL_TABLE, ...GEO_TABLE]) {
      const impl = impls[name];
      if (impl === undefined) continue;
      const write = flags.includes('write');
      const reg: RegisteredCommand = { spec: undefined as unknown as CommandSpec, impl, write };
      const spec: CommandSpec = {
        name,
        arity,
        flags: [...flags],
        firstKey,
        lastKey,
        step,
        handler: (inv) => this.run(reg, inv.client, inv.argv),
      };
      reg.spec = spec;
      this.commands.set(name, spec);
      this.registered.set(name, reg);
    }
  }

  /**
   * Runs a data command directly (no arity, auth or filter checks: the dispatcher does those).
   * Unknown commands get Redis' unknown-command error.
   */
  call(client: ClientState, argv: Buffer[]): CommandResult {
    const first = argv[0];
    if (first === undefined) return new ErrorReply('ERR empty command');
    let reg = this.registered.get(first.toString('latin1'));
    if (reg === undefined) reg = this.registered.get(first.toString('latin1').toLowerCase());
    if (reg === undefined) {
      let args = '';
      for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${argv[i]!.toString('latin1')}' `;
      return new ErrorReply(`ERR unknown command '${first.toString('latin1')}', with args beginning with: ${args}`);
    }
    return this.run(reg, client, argv);
  }

  /** Builds the invocation object a CommandFilter receives for `call`-style callers. */
  invocation(client: ClientState, argv: Buffer[]): CommandInvocation {
    return new Invocation(argv, client, this);
  }

  private run(reg: RegisteredCommand, client: ClientState, argv: Buffer[]): CommandResult {
    if (this.closed) return new ErrorReply('ERR context closed');
    const prevOverride = this.override;
    const prevDb = this.curDb;
    const prevFromMaster = this.fromMaster;
    this.override = undefined;
    this.curDb = client.db;
    this.fromMaster = client.master === true;
    this.t = this.nowFn();
    const dirty0 = this.dirty;
    const evStart = this.evq.length;
    const pStart = this.pq.length;
    let r: CommandResult;
    try {
      if (reg.write && this.cow) this.beforeWriteArgs(client.db, argv);
      r = reg.impl(this, client, argv);
      if (this.wantPropagate) {
        const ov = this.override as Buffer[][] | undefined;
        if (ov !== undefined) {
          for (const a of ov) this.pq.push({ db: client.db, argv: a });
        } else if (reg.write && this.dirty !== dirty0) {
          this.pq.push({ db: client.db, argv });
        }
      }
    } finally {
      this.override = prevOverride;
      this.curDb = prevDb;
      this.fromMaster = prevFromMaster;
    }
    this.flushEvents(evStart, pStart);
    if (this.blocking.ready.size > 0) {
      if (client.inExec) this.scheduleServe();
      else this.serveReady();
    }
    return r;
  }


  protected serveListWaiter(w: Waiter, db: Db, key: string, e: Entry): Reply {
    return serveWaiter(this, w, db, key, e);
  }
}
