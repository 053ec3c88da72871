import { EventEmitter } from 'node:events';

/**
 * Event name -> the arguments its listeners receive, e.g. `{ session: [session: Session]; error: [err: Error] }`.
 * Node's own generic EventEmitter accepts any string as an event name, so a misspelt name compiles; this does not.
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** What every EventEmitter emits about its own listeners. */
interface ListenerEvents {
  newListener: [event: string | symbol, listener: (...args: any[]) => void];
  removeListener: [event: string | symbol, listener: (...args: any[]) => void];
}
type All<E> = E & ListenerEvents;
type EventName<E> = keyof All<E> & (string | symbol);
type Handler<E, K extends keyof All<E>> = All<E>[K] extends unknown[] ? (...args: All<E>[K]) => void : never;

type Untyped =
  | 'on' | 'once' | 'off' | 'addListener' | 'removeListener' | 'prependListener' | 'prependOnceListener'
  | 'emit' | 'listenerCount' | 'listeners' | 'rawListeners' | 'removeAllListeners' | 'eventNames';

/** An EventEmitter whose event names and listener arguments are checked against `E`. */
export interface TypedEventEmitter<E extends EventMap<E>> extends Omit<EventEmitter, Untyped> {
  on<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  once<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  off<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  addListener<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  removeListener<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  prependListener<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  prependOnceListener<K extends EventName<E>>(event: K, listener: Handler<E, K>): this;
  emit<K extends EventName<E>>(event: K, ...args: All<E>[K] & unknown[]): boolean;
  listenerCount<K extends EventName<E>>(event: K, listener?: Handler<E, K>): number;
  listeners<K extends EventName<E>>(event: K): Array<Handler<E, K>>;
  rawListeners<K extends EventName<E>>(event: K): Array<Handler<E, K>>;
  removeAllListeners(event?: EventName<E>): this;
  eventNames(): Array<EventName<E>>;
}

/**
 * Node's EventEmitter with typed events: `class Listener extends TypedEventEmitter<ListenerEvents> {}`. At run time
 * this is `EventEmitter` itself (`instanceof EventEmitter` holds); only the types differ.
 */
export const TypedEventEmitter = EventEmitter as unknown as new <E extends EventMap<E>>(
  options?: ConstructorParameters<typeof EventEmitter>[0],
) => TypedEventEmitter<E>;
