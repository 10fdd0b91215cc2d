import type { Logger } from './logger.ts'
import { createSystemdNotifySender, type NotifySender } from './sd-notify-send.ts'
import { createWatchdog, watchdogIntervalMs, type Watchdog } from './watchdog.ts'

/** The variables systemd hands a Type=notify service; children must not inherit them. */
export const NOTIFY_ENV = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const

export interface NotifierInit {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read (process.env). */
  env: NodeJS.ProcessEnv
  logger: Logger
  /** Delete NOTIFY_ENV from `env` once read, so gst-launch-1.0 and other children do not see them. */
  unsetEnvironment?: boolean
  /** Withhold watchdog pings while this returns false (or throws). */
  healthy?: () => boolean
  /** How a message is delivered; default: systemd's systemd-notify. */
  send?: NotifySender
  pid?: number
}

/**
 * sd_notify(3) for edged. Every method resolves once the message is delivered
 * or given up (never rejects: failures are logged, never fatal); with no
 * NOTIFY_SOCKET (not run by systemd as Type=notify) every method does nothing.
 */
export interface Notifier {
  readonly enabled: boolean
  /** WATCHDOG=1 every WATCHDOG_USEC/2 while started; intervalMs is undefined without WATCHDOG_USEC. */
  readonly watchdog: Watchdog
  /** READY=1: start-up is complete (sent once). */
  ready: () => Promise<void>
  /** STATUS=text, shown by `systemctl status edged`; repeats of the last text are skipped. */
  status: (text: string) => Promise<void>
  /** Stops the watchdog and sends STOPPING=1 (once). */
  stopping: () => Promise<void>
  /** Raw fields, e.g. ['EXTEND_TIMEOUT_USEC=30000000']. */
  notify: (fields: string[]) => Promise<void>
}

interface Pending {
  fields: string[]
  /** Queued messages with the same key are merged: only the latest matters. */
  key?: string
  done: Array<() => void>
}

export function createNotifier (init: NotifierInit): Notifier {
  const { env, logger } = init
  const socket = env.NOTIFY_SOCKET ?? ''
  const intervalMs = watchdogIntervalMs(env, init.pid ?? process.pid)
  if (init.unsetEnvironment === true) for (const name of NOTIFY_ENV) delete env[name]
  const send = init.send ?? createSystemdNotifySender()
  const enabled = socket !== ''

  const queue: Pending[] = []
  let draining = false
  let failures = 0
  let unusable = false
  let readySent = false
  let stoppingSent = false
  let lastStatus: string | undefined

  const deliver = async (fields: string[]): Promise<void> => {
    try {
      await send(socket, fields)
      if (failures > 0) logger.info({ failures }, 'sd_notify works again')
      failures = 0
    } catch (err) {
      failures++
      if ((err as Error).cause !== undefined && ((err as Error).cause as NodeJS.ErrnoException).code === 'ENOENT') {
        unusable = true
        logger.error({ err }, 'sd_notify impossible (no systemd-notify); edged will not tell systemd it is ready or alive')
      } else if (failures === 1 || failures % 20 === 0) {
        logger.warn({ err, fields, failures }, 'sd_notify failed')
      } else {
        logger.debug({ err, fields, failures }, 'sd_notify failed')
      }
    }
  }

  const drain = async (): Promise<void> => {
    if (draining) return
    draining = true
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (!unusable) await deliver(next.fields)
      for (const done of next.done) done()
    }
    draining = false
  }

  const enqueue = async (fields: string[], key?: string): Promise<void> => {
    if (!enabled || unusable) return
    await new Promise<void>(resolve => {
      const same = key === undefined ? undefined : queue.find(p => p.key === key)
      if (same !== undefined) {
        same.fields = fields
        same.done.push(resolve)
      } else {
        queue.push({ fields, key, done: [resolve] })
      }
      void drain()
    })
  }

  const watchdog = createWatchdog({
    intervalMs: enabled ? intervalMs : undefined,
    ping: () => { void enqueue(['WATCHDOG=1'], 'WATCHDOG') },
    healthy: init.healthy,
    onError: err => { logger.warn({ err }, 'health check failed; watchdog ping withheld') }
  })

  if (enabled) logger.debug({ socket, watchdogMs: intervalMs }, 'sd_notify enabled')

  return {
    enabled,
    watchdog,
    async ready () {
      if (readySent) return
      readySent = true
      await enqueue(['READY=1'])
    },
    async status (text) {
      const line = text.replace(/[\r\n]+/g, ' ')
      if (line === lastStatus) return
      lastStatus = line
      await enqueue([`STATUS=${line}`], 'STATUS')
    },
    async stopping () {
      await watchdog.stop()
      if (stoppingSent) return
      stoppingSent = true
      await enqueue(['STOPPING=1'])
    },
    async notify (fields) {
      await enqueue(fields.map(f => f.replace(/[\r\n]+/g, ' ')))
    }
  }
}
