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

/**
 * Services that do not depend on each other, as one: started at the same time
 * (if one fails, those that started are stopped and the failure is thrown)
 * and stopped together (the first failure is thrown after every stop ran).
 */
export function together (...services: Startable[]): Startable {
  return {
    async start () {
      const results = await Promise.allSettled(services.map(async service => { await service.start() }))
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed === undefined) return
      await stopAll(services.filter((_, i) => results[i].status === 'fulfilled'))
      throw failed.reason
    },
    async stop () {
      const errors: unknown[] = []
      await stopAll(services, err => { errors.push(err) })
      if (errors.length > 0) throw errors[0]
    }
  }
}
