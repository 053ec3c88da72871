import { Buffer } from 'node:buffer';
import type { Dispatcher } from '../../context/dispatch.js';
import { ErrorReply, OK, RespMap, RespSet, type Reply } from '../../wire/reply.js';
import { clientOf, E_NOT_INT, E_SYNTAX, parseIntArg, type Subcommand } from '../commands/spec.js';
import { trackingFor, type TrackingOptions } from './tracking.js';

const E_CACHING = new ErrorReply('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');

/** Redis' error for BCAST prefixes where one starts with the other (checkPrefixCollisionsOrReply). */
function prefixCollision(existing: Iterable<string>, prefixes: Buffer[]): ErrorReply | null {
  const overlap = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i]!.toString('latin1');
    for (const e of existing) {
      if (overlap(p, e)) {
        return new ErrorReply(`ERR Prefix '${p}' overlaps with an existing prefix '${e}'. Prefixes for a single client must not overlap.`);
      }
    }
    for (let j = i + 1; j < prefixes.length; j++) {
      const q = prefixes[j]!.toString('latin1');
      if (overlap(p, q)) return new ErrorReply(`ERR Prefix '${p}' overlaps with another provided prefix '${q}'. Prefixes for a single client must not overlap.`);
    }
  }
  return null;
}

/** CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, with Redis 7.0's checks in its order and its error texts. */
export function trackingSubcommands(d: Dispatcher): Record<string, Subcommand> {
  return {
    tracking: {
      arity: -3,
      run: (inv) => {
        const c = clientOf(inv);
        const a = inv.argv;
        const o: TrackingOptions = { bcast: false, optin: false, optout: false, noloop: false };
        let redirect = 0;
        const prefixes: Buffer[] = [];
        for (let j = 3; j < a.length; j++) {
          const opt = a[j]!.toString('latin1').toLowerCase();
          const more = j < a.length - 1;
          if (opt === 'redirect' && more) {
            j++;
            if (redirect !== 0) return new ErrorReply('ERR A client can only redirect to a single other client');
            const id = parseIntArg(a[j]!);
            if (id === null) return E_NOT_INT;
            const target = d.registry.clients.get(id);
            if (target === undefined || target.closed || target.closeAfterReply) return new ErrorReply('ERR The client ID you want redirect to does not exist');
            redirect = id;
          } else if (opt === 'bcast') o.bcast = true;
          else if (opt === 'optin') o.optin = true;
          else if (opt === 'optout') o.optout = true;
          else if (opt === 'noloop') o.noloop = true;
          else if (opt === 'prefix' && more) prefixes.push(a[++j]!);
          else return E_SYNTAX;
        }
        const mode = a[2]!.toString('latin1').toLowerCase();
        const tracking = trackingFor(d);
        if (mode === 'on') {
          if (!o.bcast && prefixes.length > 0) return new ErrorReply('ERR PREFIX option requires BCAST mode to be enabled');
          const t = c.tracking;
          if (t !== null && t.bcast !== o.bcast) {
            return new ErrorReply("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
          }
          if (o.bcast && (o.optin || o.optout)) return new ErrorReply('ERR OPTIN and OPTOUT are not compatible with BCAST');
          if (o.optin && o.optout) return new ErrorReply("ERR You can't specify both OPTIN mode and OPTOUT mode");
          if (t !== null && ((o.optin && t.optout) || (o.optout && t.optin))) {
            return new ErrorReply("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
          }
          if (o.bcast) {
            const e = prefixCollision(t?.prefixes ?? [], prefixes);
            if (e !== null) return e;
          }
          tracking.enable(c, redirect, o, prefixes);
        } else if (mode === 'off') {
          tracking.disable(c);
        } else return E_SYNTAX;
        return OK;
      },
    },
    caching: {
      arity: -3,
      run: (inv) => {
        const t = clientOf(inv).tracking;
        if (t === null) return E_CACHING;
        const v = inv.argv[2]!.toString('latin1').toLowerCase();
        if (v === 'yes') {
          if (!t.optin) return new ErrorReply('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
        } else if (v === 'no') {
          if (!t.optout) return new ErrorReply('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
        } else return E_SYNTAX;
        t.caching = true;
        return OK;
      },
    },
    getredir: {
      arity: 2,
      run: (inv) => clientOf(inv).tracking?.redirect ?? -1,
    },
    trackinginfo: {
      arity: 2,
      run: (inv) => {
        const t = clientOf(inv).tracking;
        const flags: Reply[] = [t === null ? 'off' : 'on'];
        if (t !== null) {
          if (t.bcast) flags.push('bcast');
          if (t.optin) flags.push('optin');
          if (t.optin && t.caching) flags.push('caching-yes');
          if (t.optout) flags.push('optout');
          if (t.optout && t.caching) flags.push('caching-no');
          if (t.noloop) flags.push('noloop');
          if (t.brokenRedirect) flags.push('broken_redirect');
        }
        const prefixes = t === null ? [] : [...t.prefixes].sort().map((p) => Buffer.from(p, 'latin1'));
        return new RespMap([['flags', new RespSet(flags)], ['redirect', t?.redirect ?? -1], ['prefixes', prefixes]]);
      },
    },
  };
}
