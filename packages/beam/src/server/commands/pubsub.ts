import type { CommandSpec } from '../../context/api.js';
import type { DispatchClient } from '../../context/dispatch.js';
import { MultiReply, RespPush, type Reply } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, container, helpReply, spec } from './spec.js';

type Kind = 'subscribe' | 'unsubscribe' | 'psubscribe' | 'punsubscribe';

function frame(c: DispatchClient, kind: Kind, name: Buffer | null): Reply {
  const items: Reply[] = [kind, name, c.subscriptionCount];
  return c.resp === 3 ? new RespPush(items) : items;
}

function one(replies: Reply[]): Reply {
  return replies.length === 1 ? replies[0]! : new MultiReply(replies);
}

function unsubscribeAll(scope: CommandScope, c: DispatchClient, patterns: boolean): Reply[] {
  const set = patterns ? c.patterns : c.channels;
  const out: Reply[] = [];
  for (const k of [...set]) {
    const b = Buffer.from(k, 'latin1');
    if (patterns) scope.dispatcher.hub.punsubscribe(c, b);
    else scope.dispatcher.hub.unsubscribe(c, b);
    set.delete(k);
    out.push(frame(c, patterns ? 'punsubscribe' : 'unsubscribe', b));
  }
  if (out.length === 0) out.push(frame(c, patterns ? 'punsubscribe' : 'unsubscribe', null));
  return out;
}

/** Drops every subscription of a client without replying (RESET). */
export function resetSubscriptions(scope: CommandScope, c: DispatchClient): void {
  unsubscribeAll(scope, c, false);
  unsubscribeAll(scope, c, true);
}

export function pubsubCommands(scope: CommandScope): CommandSpec[] {
  const hub = scope.dispatcher.hub;
  const flags = ['pubsub', 'noscript', 'loading', 'stale'];
  return [
    spec('subscribe', -2, flags, (inv) => {
      const c = clientOf(inv);
      const out: Reply[] = [];
      for (const ch of inv.argv.slice(1)) {
        if (hub.subscribe(c, ch)) c.channels.add(ch.toString('latin1'));
        out.push(frame(c, 'subscribe', ch));
      }
      return one(out);
    }),
    spec('psubscribe', -2, flags, (inv) => {
      const c = clientOf(inv);
      const out: Reply[] = [];
      for (const p of inv.argv.slice(1)) {
        if (hub.psubscribe(c, p)) c.patterns.add(p.toString('latin1'));
        out.push(frame(c, 'psubscribe', p));
      }
      return one(out);
    }),
    spec('unsubscribe', -1, flags, (inv) => {
      const c = clientOf(inv);
      if (inv.argv.length === 1) return one(unsubscribeAll(scope, c, false));
      const out: Reply[] = [];
      for (const ch of inv.argv.slice(1)) {
        hub.unsubscribe(c, ch);
        c.channels.delete(ch.toString('latin1'));
        out.push(frame(c, 'unsubscribe', ch));
      }
      return one(out);
    }),
    spec('punsubscribe', -1, flags, (inv) => {
      const c = clientOf(inv);
      if (inv.argv.length === 1) return one(unsubscribeAll(scope, c, true));
      const out: Reply[] = [];
      for (const p of inv.argv.slice(1)) {
        hub.punsubscribe(c, p);
        c.patterns.delete(p.toString('latin1'));
        out.push(frame(c, 'punsubscribe', p));
      }
      return one(out);
    }),
    spec('publish', 3, ['pubsub', 'loading', 'stale', 'fast'], (inv) => {
      const n = hub.publish(inv.argv[1]!, inv.argv[2]!);
      // Redis replicates PUBLISH so that clients subscribed on replicas receive it too.
      scope.context?.propagateNow(clientOf(inv).db, inv.argv);
      return n;
    }),
    spec('pubsub', -2, ['pubsub', 'loading', 'stale'], container('pubsub', {
      channels: { arity: -2, run: (inv) => hub.activeChannels(inv.argv[2]) },
      numsub: {
        arity: -2,
        run: (inv) => {
          // Redis 7.0 answers a flat array even in RESP3.
          return inv.argv.slice(2).flatMap((ch): Reply[] => [ch, hub.numSub(ch)]);
        },
      },
      numpat: { arity: 2, run: () => hub.numPat() },
      help: {
        arity: 2,
        run: () => helpReply([
          'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'CHANNELS [<pattern>]', "    Return the currently active channels matching a <pattern> (default: '*').",
          'NUMPAT', '    Return number of subscriptions to patterns.',
          'NUMSUB [<channel> ...]', '    Return the number of subscribers for the specified channels, excluding',
          '    pattern subscriptions(default: no channels).',
          'HELP', '    Print this help.',
        ]),
      },
    })),
  ];
}
