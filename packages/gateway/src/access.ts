/** Which identities may run which job handlers (config `access`, docs/gateway.md §6.1): 530 or 537 otherwise. */
import type { AccessConfig } from './config-types.js';
import { NotAllowedError } from './errors.js';

export function checkAccess(access: AccessConfig | undefined, identity: string | undefined, name: string): void {
  if (!access) return;
  const list = identity === undefined ? access[''] : (access[identity] ?? access['*']);
  if (list && (list.includes('*') || list.includes(name))) return;
  if (identity === undefined) throw new NotAllowedError(`job '${name}' needs an authenticated session`, true);
  throw new NotAllowedError(`'${identity}' may not run job '${name}'`);
}
