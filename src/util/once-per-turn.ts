/**
 * `read` at most once per turn of the event loop: later calls in the same
 * turn (and its microtasks) get the first call's value; the next turn reads
 * anew. For a value many readers want at once and that must stay fresh.
 */
export function oncePerTurn<T> (read: () => T): () => T {
  let held: { value: T } | undefined
  return () => {
    if (held === undefined) {
      held = { value: read() }
      setImmediate(() => { held = undefined })
    }
    return held.value
  }
}
