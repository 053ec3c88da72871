import { adminCommands } from './admin.js';
import { memoryCommands } from './memory.js';
import type { CommandSpec } from '../../context/api.js';
import type { CommandScope } from './env.js';
import { connectionCommands } from './connection.js';
import { pubsubCommands } from './pubsub.js';
import { transactionCommands } from './transaction.js';
import { configCommands } from './config.js';
import { infoCommands } from './info.js';
import { commandCommands } from './command.js';
import { scriptingCommands } from './scripting.js';
import { aclCommands } from './acl.js';

/** Every command the server itself implements (connection state, pub/sub, transactions, introspection). */
export function serverCommands(scope: CommandScope): CommandSpec[] {
  return [
    ...connectionCommands(scope),
    ...aclCommands(scope),
    ...pubsubCommands(scope),
    ...transactionCommands(scope),
    ...configCommands(scope),
    ...infoCommands(scope),
    ...commandCommands(scope),
    ...adminCommands(scope),
    ...memoryCommands(scope),
    ...scriptingCommands({
      dispatcher: scope.dispatcher, context: scope.context, version: scope.env.version,
      busyThreshold: () => Number(scope.env.config.get('busy-reply-threshold') ?? 5000),
      whileBusy: (caller) => scope.env.serveWhileBusy?.(scope.dispatcher, caller),
    }),
  ];
}

export type { CommandScope, ServerEnv } from './env.js';
