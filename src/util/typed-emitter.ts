import { EventEmitter } from 'node:events'

/** Event map as tuples of listener arguments, as in mediasoup's enhancedEvents. */
export type EventMap<E> = { [K in keyof E]: unknown[] }

type Listener<A> = A extends unknown[] ? (...args: A) => void : never

/**
 * An EventEmitter whose event names and argument tuples are typed. A listener
 * that throws is reported through `onListenerError` (by default to stderr) and
 * never propagates into the emitter: one bad subscriber cannot crash the daemon.
 */
export class TypedEmitter<E extends EventMap<E>> {
  readonly #emitter = new EventEmitter({ captureRejections: false })
  onListenerError: (event: string, err: unknown) => void = (event, err) => {
    process.stderr.write(`listener for ${event} threw: ${String(err)}\n`)
  }

  constructor () {
    this.#emitter.setMaxListeners(0)
  }

  on<K extends keyof E & string> (event: K, listener: Listener<E[K]>): this {
    this.#emitter.on(event, listener as Listener<unknown[]>)
    return this
  }

  once<K extends keyof E & string> (event: K, listener: Listener<E[K]>): this {
    this.#emitter.once(event, listener as Listener<unknown[]>)
    return this
  }

  off<K extends keyof E & string> (event: K, listener: Listener<E[K]>): this {
    this.#emitter.off(event, listener as Listener<unknown[]>)
    return this
  }

  emit<K extends keyof E & string> (event: K, ...args: E[K]): boolean {
    // rawListeners: a once() listener comes as its wrapper, which removes it as it runs.
    const listeners = this.#emitter.rawListeners(event) as Array<Listener<E[K]>>
    for (const listener of listeners) {
      try {
        listener(...args)
      } catch (err) {
        this.onListenerError(event, err)
      }
    }
    return listeners.length > 0
  }

  listenerCount<K extends keyof E & string> (event: K): number {
    return this.#emitter.listenerCount(event)
  }

  removeAllListeners (): void {
    this.#emitter.removeAllListeners()
  }
}
