/** A long-lived service: start() brings it up (rolling back on failure), stop() is idempotent. */
export interface Startable {
  start: () => Promise<void>
  stop: () => Promise<void>
}

/**
 * Start services in order; if one fails, stop the ones already started (in
 * reverse) and rethrow the original error.
 */
export async function startAll (services: Startable[]): Promise<void> {
  const started: Startable[] = []
  try {
    for (const service of services) {
      await service.start()
      started.push(service)
    }
  } catch (err) {
    await stopAll(started)
    throw err
  }
}

/** Stop services in reverse order; every stop runs even if an earlier one throws. */
export async function stopAll (services: Startable[], onError?: (err: unknown) => void): Promise<void> {
  for (const service of [...services].reverse()) {
    try {
      await service.stop()
    } catch (err) {
      onError?.(err)
    }
  }
}
