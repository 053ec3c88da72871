import { Buffer } from 'node:buffer';
import type { ClientState } from './api.js';
import type { Subscriber } from './pubsub.js';
import { RespPush, type Reply } from '../wire/reply.js';
import type { ClientTracking } from './client-tracking.js';

let nextClientId = 1;

export interface DispatchClientOptions {
  internal?: boolean;
  /** Already authenticated (internal clients, or no requirepass). */
  authenticated?: boolean;
  resp?: 2 | 3;
  /** Peer and local address for CLIENT LIST, e.g. `127.0.0.1:5000`. */
  addr?: string;
  laddr?: string;
  /**
   * The peer is on this machine as Redis' islocalClient() sees it (unix socket, 127.0.0.1, ::1): protected
   * actions set to `local` are allowed. Default false.
   */
  local?: boolean;
  /** Already authenticated as this user (CLIENT LIST `user=`, ACL WHOAMI). */
  user?: string;
  /** Receives out-of-band replies (pub/sub messages). */
  onPush?: (r: Reply) => void;
  /** Asked to close the client's transport (CLIENT KILL, output limits). */
  onKill?: () => void;
}

/**
 * Everything the dispatcher keeps per client: the ClientState commands see, plus authentication,
 * transaction, WATCH and subscription state and the data CLIENT LIST shows.
 */
/** DispatchClient.replyFlags bits (CLIENT REPLY OFF, the command after SKIP, the SKIP command itself). */
export const REPLY_OFF = 1;
export const REPLY_SKIP = 2;
export const REPLY_SKIP_NEXT = 4;

/** A connection's figures for CLIENT LIST. */
export interface ClientIo {
  fd(): number;
  /** Bytes read but not yet parsed into commands. */
  queryBuffer(): number;
  /** Reply bytes not yet taken by the socket. */
  output(): number;
}

/** Redis' fixed per-client overhead in tot-mem (the client struct and its reply buffer, 7.0 on 64-bit). */
const CLIENT_STRUCT_BYTES = 20496;

export class DispatchClient implements ClientState, Subscriber {
  readonly id = nextClientId++;
  db = 0;
  resp: 2 | 3;
  name: string | null = null;
  inExec = false;
  script = false;
  readonly internal: boolean;
  authenticated: boolean;
  libName = '';
  libVer = '';
  readonly addr: string;
  readonly laddr: string;
  readonly local: boolean;
  /** The user AUTH or HELLO AUTH authenticated, or `default`. */
  user: string;
  readonly createdAt = Date.now();
  lastActive = Date.now();
  lastCommand = 'NULL';
  /** Queued commands while in MULTI, null otherwise. */
  multi: Buffer[][] | null = null;
  /** A queue-time error happened: EXEC answers EXECABORT. */
  multiDirty = false;
  /** A watched key was touched: EXEC answers a null array. */
  watchDirty = false;
  /** Watched keys as `db\0key(latin1)`. */
  readonly watched = new Set<string>();
  /** Subscribed channels and patterns, latin1 text of the bytes. */
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  /** In MONITOR mode (CLIENT LIST flag O). */
  monitor = false;
  /** Set by QUIT: the transport closes after this reply. */
  closeAfterReply = false;
  onPush: ((r: Reply) => void) | null;
  onKill: (() => void) | null;
  unblock: ((error: boolean) => void) | null = null;
  /** What the transport knows (CLIENT LIST fd, qbuf, omem, tot-mem); null for internal clients. */
  io: ClientIo | null = null;
  /** CLIENT REPLY state (REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT bits); 0 = replies on. */
  replyFlags = 0;
  /** CLIENT TRACKING state; null while tracking is off. */
  tracking: ClientTracking | null = null;
  /** Set by the connection from the start of a command until its reply is written (also while it blocks). */
  busy = false;
  /** Pushes that must follow the running command's reply (tracking invalidations); the connection sends them. */
  heldPushes: Reply[] | null = null;
  private readonly ac = new AbortController();

  constructor(opts: DispatchClientOptions = {}) {
    this.internal = opts.internal ?? false;
    this.authenticated = opts.authenticated ?? true;
    this.resp = opts.resp ?? 2;
    this.addr = opts.addr ?? '';
    this.laddr = opts.laddr ?? '';
    this.local = opts.local ?? false;
    this.user = opts.user ?? 'default';
    this.onPush = opts.onPush ?? null;
    this.onKill = opts.onKill ?? null;
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  get closed(): boolean {
    return this.ac.signal.aborted;
  }

  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  /** Marks the client closed: cancels blocking waits. The dispatcher's release() does the rest. */
  abort(): void {
    if (!this.ac.signal.aborted) this.ac.abort();
  }

  deliver(kind: 'message' | 'pmessage', pattern: Buffer | null, channel: Buffer, payload: Buffer): void {
    if (!this.onPush) return;
    const items: Reply[] = kind === 'message' ? ['message', channel, payload] : ['pmessage', pattern, channel, payload];
    this.onPush(this.resp === 3 ? new RespPush(items) : items);
  }

  /**
   * One CLIENT LIST line (without the newline), fields as Redis 7.0 prints them. `running` is the command this client
   * is executing (CLIENT LIST/INFO asked by itself): Redis still holds it in the query buffer then.
   */
  describe(running?: Buffer[]): string {
    const now = Date.now();
    const t = this.tracking;
    const flags = (this.monitor ? 'O' : '') + (this.multi ? 'x' : '') + (this.subscriptionCount > 0 ? 'P' : '')
      + (t ? `t${t.brokenRedirect ? 'R' : ''}${t.bcast ? 'B' : ''}` : '') || 'N';
    const io = this.io;
    let qbuf = io ? io.queryBuffer() : 0;
    if (io && running) {
      qbuf += 3 + String(running.length).length;
      for (const a of running) qbuf += 5 + String(a.length).length + a.length;
    }
    const omem = io ? io.output() : 0;
    let multiMem = 0;
    if (this.multi) for (const argv of this.multi) for (const a of argv) multiMem += a.length + 16;
    const qbufFree = qbuf > 0 ? Math.max(0, 32768 - qbuf) : 0;
    const totMem = io ? CLIENT_STRUCT_BYTES + qbuf + qbufFree + omem + multiMem : 0;
    return `id=${this.id} addr=${this.addr} laddr=${this.laddr} fd=${io ? io.fd() : -1} name=${this.name ?? ''} `
      + `age=${Math.floor((now - this.createdAt) / 1000)} idle=${Math.floor((now - this.lastActive) / 1000)} `
      + `flags=${flags} db=${this.db} sub=${this.channels.size} psub=${this.patterns.size} ssub=0 `
      + `multi=${this.multi ? this.multi.length : -1} qbuf=${qbuf} qbuf-free=${qbufFree} argv-mem=0 multi-mem=${multiMem} `
      + `rbs=${io ? 1024 : 0} rbp=0 obl=0 oll=0 omem=${omem} tot-mem=${totMem} events=r cmd=${this.lastCommand} `
      + `user=${this.user} redir=${t ? t.redirect : -1} resp=${this.resp}`
      + (this.libName || this.libVer ? ` lib-name=${this.libName} lib-ver=${this.libVer}` : '');
  }
}
