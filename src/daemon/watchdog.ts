import type { Startable } from '../util/startable.ts'

/**
 * The keep-alive interval systemd expects of this process, as sd_watchdog_enabled(3)
 * reads it: WATCHDOG_USEC set and, when WATCHDOG_PID is set, naming this process.
 * Half the timeout, so one late ping is not yet fatal.
 */
export function watchdogIntervalMs (env: NodeJS.ProcessEnv, pid: number = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined
  const forPid = env.WATCHDOG_PID
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined
  return Math.max(1, Math.floor(usec / 2000))
}

export interface WatchdogInit {
  /** Undefined: no watchdog is expected; start() and stop() do nothing. */
  intervalMs: number | undefined
  ping: () => void
  /** Checked before each ping: false withholds it, so systemd restarts an edged that is up but broken. */
  healthy?: () => boolean
  /** A throwing `healthy` counts as unhealthy and lands here; it never escapes the timer. */
  onError?: (err: unknown) => void
}

export interface Watchdog extends Startable {
  readonly intervalMs: number | undefined
  readonly running: boolean
}

/**
 * Pings from a timer on the event loop: if the loop blocks, the pings stop and
 * systemd kills and restarts the daemon (WatchdogSec=, Restart=on-failure).
 */
export function createWatchdog (init: WatchdogInit): Watchdog {
  let timer: NodeJS.Timeout | undefined
  const tick = (): void => {
    try {
      if (init.healthy === undefined || init.healthy()) init.ping()
    } catch (err) {
      init.onError?.(err)
    }
  }
  return {
    get intervalMs () { return init.intervalMs },
    get running () { return timer !== undefined },
    async start () {
      if (init.intervalMs === undefined || timer !== undefined) return
      timer = setInterval(tick, init.intervalMs)
      timer.unref() // the watchdog never keeps a stopping daemon alive
      tick()
    },
    async stop () {
      clearInterval(timer)
      timer = undefined
    }
  }
}
