import { spawnSync } from 'node:child_process'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createRootLogger, type Logger } from '../../src/daemon/logger.ts'
import { createNotifier, type Notifier } from '../../src/daemon/sd-notify.ts'
import { createSystemdNotifySender, type NotifySender } from '../../src/daemon/sd-notify-send.ts'
import { watchdogIntervalMs } from '../../src/daemon/watchdog.ts'
import { has, NO_RECEIVER_REASON, PYTHON, startNotifyReceiver, type NotifyReceiver } from './sd-notify-receiver.ts'

const HAS_SYSTEMD_NOTIFY = spawnSync('systemd-notify', ['--version']).status === 0
const REAL_SKIP = PYTHON === undefined ? NO_RECEIVER_REASON : HAS_SYSTEMD_NOTIFY ? '' : 'systemd-notify not found (Debian package systemd)'

function capturingLogger (): { logger: Logger, lines: () => Array<Record<string, any>> } {
  const out: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { out.push(String(chunk)); cb() } })
  const logger = createRootLogger({ level: 'debug', levels: {}, pretty: false }, stream)
  return { logger, lines: () => out.join('').split('\n').filter(l => l !== '').map(l => JSON.parse(l)) }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

function track (n: Notifier): Notifier {
  cleanups.push(async () => { await n.watchdog.stop() })
  return n
}

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC, for this process only', () => {
    expect(watchdogIntervalMs({}, 42)).toBeUndefined()
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000)
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 42)).toBe(1000)
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '43' }, 42)).toBeUndefined()
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeUndefined()
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined()
  })
})

describe('notifier without NOTIFY_SOCKET', () => {
  it('does nothing at all', async () => {
    const calls: string[][] = []
    const send: NotifySender = async (_s, fields) => { calls.push(fields) }
    const n = track(createNotifier({ env: { WATCHDOG_USEC: '100000' }, logger: capturingLogger().logger, send }))
    expect(n.enabled).toBe(false)
    await n.ready()
    await n.status('peers 1, sessions 0')
    await n.watchdog.start()
    expect(n.watchdog.running).toBe(false)
    await sleep(150)
    await n.stopping()
    expect(calls).toEqual([])
  })
})

describe('notifier queue', () => {
  it('merges queued status updates and pings, keeps order, sends READY and STOPPING once', async () => {
    const sent: string[][] = []
    let release: () => void = () => {}
    const send: NotifySender = async (_s, fields) => {
      sent.push(fields)
      if (fields[0] === 'READY=1') await new Promise<void>(resolve => { release = resolve })
    }
    const n = track(createNotifier({ env: { NOTIFY_SOCKET: '/nowhere' }, logger: capturingLogger().logger, send }))
    const all = [n.ready(), n.status('a'), n.status('b'), n.status('c'), n.ready()]
    await sleep(20)
    expect(sent).toEqual([['READY=1']]) // the rest waits behind it, merged
    release()
    await Promise.all(all)
    await n.status('c') // unchanged: not sent again
    await n.stopping()
    await n.stopping()
    expect(sent).toEqual([['READY=1'], ['STATUS=c'], ['STOPPING=1']])
  })

  it('withholds pings while unhealthy and survives a throwing health check', async () => {
    const sent: string[][] = []
    let health: () => boolean = () => false
    const { logger, lines } = capturingLogger()
    const n = track(createNotifier({
      env: { NOTIFY_SOCKET: '/nowhere', WATCHDOG_USEC: '40000' },
      logger,
      send: async (_s, fields) => { sent.push(fields) },
      healthy: () => health()
    }))
    await n.watchdog.start()
    await sleep(100)
    expect(sent).toEqual([])
    health = () => { throw new Error('component gone') }
    await sleep(60)
    expect(sent).toEqual([])
    expect(lines().some(l => l.level === 'warn' && l.msg.includes('watchdog ping withheld'))).toBe(true)
    health = () => true
    await sleep(100)
    expect(sent.length).toBeGreaterThanOrEqual(2)
    expect(sent.every(f => f[0] === 'WATCHDOG=1')).toBe(true)
  })
})

describe.skipIf(REAL_SKIP !== '')(`notifier through systemd-notify ${REAL_SKIP === '' ? '' : `(skipped: ${REAL_SKIP})`}`, () => {
  async function receiver (): Promise<NotifyReceiver> {
    const r = await startNotifyReceiver()
    cleanups.push(r.close)
    return r
  }

  it('delivers READY, STATUS, WATCHDOG and STOPPING to NOTIFY_SOCKET and hides the variables from children', async () => {
    const r = await receiver()
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: r.socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid), KEEP: '1' }
    const n = track(createNotifier({ env, logger: capturingLogger().logger, unsetEnvironment: true }))
    expect(env).toEqual({ KEEP: '1' })
    expect(n.watchdog.intervalMs).toBe(100)

    await n.ready()
    await r.next(m => has(m, 'READY=1'), 2000)
    await n.status('peers 2,\nsessions 1')
    await r.next(m => has(m, 'STATUS=peers 2, sessions 1'), 2000)

    await n.watchdog.start()
    await sleep(700)
    const pings = r.messages.filter(m => has(m, 'WATCHDOG=1')).length
    expect(pings).toBeGreaterThanOrEqual(4)

    await n.stopping()
    await r.next(m => has(m, 'STOPPING=1'), 2000)
    const after = r.messages.length
    await sleep(300)
    expect(r.messages.slice(after).filter(m => has(m, 'WATCHDOG=1'))).toEqual([])
  })

  it('stops pinging while the event loop is blocked', async () => {
    const r = await receiver()
    const n = track(createNotifier({ env: { NOTIFY_SOCKET: r.socket, WATCHDOG_USEC: '100000' }, logger: capturingLogger().logger }))
    await n.watchdog.start()
    await sleep(400)
    const blockedAt = Date.now()
    while (Date.now() - blockedAt < 800) { /* a hung daemon */ }
    const unblockedAt = Date.now()
    await sleep(400)
    await n.watchdog.stop()
    const times = r.messages.filter(m => has(m, 'WATCHDOG=1')).map(m => m.t)
    expect(times.filter(t => t < blockedAt).length).toBeGreaterThanOrEqual(3)
    expect(times.filter(t => t > unblockedAt + 30).length).toBeGreaterThanOrEqual(3)
    // Nothing was sent while blocked: a gap at least as long as the block.
    const gaps = times.slice(1).map((t, i) => t - times[i])
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(750)
  })

  it('logs and carries on when the socket is gone or systemd-notify is missing', async () => {
    const { logger, lines } = capturingLogger()
    const n = track(createNotifier({ env: { NOTIFY_SOCKET: '/nonexistent/notify.sock' }, logger }))
    await n.ready()
    await n.status('x')
    const warns = lines().filter(l => l.level === 'warn' && l.msg === 'sd_notify failed')
    expect(warns.length).toBe(1) // the first failure warns, repeats go to debug
    expect(warns[0].err.type).toBe('NotifyError')

    const missing = capturingLogger()
    const m = track(createNotifier({
      env: { NOTIFY_SOCKET: '/nonexistent/notify.sock' },
      logger: missing.logger,
      send: createSystemdNotifySender('/nonexistent/systemd-notify')
    }))
    await m.ready()
    await m.status('y')
    await m.stopping()
    const errors = missing.lines().filter(l => l.level === 'error')
    expect(errors.length).toBe(1)
    expect(errors[0].err.type).toBe('NotifyError')
  })
})
