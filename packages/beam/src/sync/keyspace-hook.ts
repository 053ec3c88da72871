/** Removes a snapshot's keyspace hook, if one is still attached; store the result back: `h = detachHook(h)`. */
export function detachHook(unhook: (() => void) | null): null {
  if (unhook) unhook();
  return null;
}
