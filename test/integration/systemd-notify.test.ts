import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startEdged, type EdgedProcess } from '../helpers/edged-process.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'
import { has, NO_RECEIVER_REASON, PYTHON, startNotifyReceiver } from '../unit/sd-notify-receiver.ts'

// edged as systemd runs it (Type=notify, WatchdogSec=2), with the test's own
// socket standing in for PID 1's: no systemd needs to be PID 1 here.
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

describe.skipIf(PYTHON === undefined)(`edged under Type=notify ${PYTHON === undefined ? `(skipped: ${NO_RECEIVER_REASON})` : ''}`, () => {
  it('sends READY=1 only once its control socket answers, then STATUS, WATCHDOG=1 pings and STOPPING=1', async () => {
    const receiver = await startNotifyReceiver()
    cleanups.push(receiver.close)
    const temp = await makeTempDir('edged-notify-')
    cleanups.push(temp.cleanup)
    const socket = path.join(temp.dir, 'edged.sock')

    // The moment READY=1 arrives, the control socket must already answer.
    let answerAtReady: Promise<number> | undefined
    receiver.onMessage(m => {
      if (has(m, 'READY=1') && answerAtReady === undefined) {
        answerAtReady = unixRequest(socket, 'GET', '/v1/status').then(r => r.status, () => -1)
      }
    })

    const edged: EdgedProcess = await startEdged({
      name: 'notify',
      dir: temp.dir,
      env: { NOTIFY_SOCKET: receiver.socket, WATCHDOG_USEC: '2000000' }
    })
    cleanups.push(async () => { await edged.stop('SIGKILL') })

    const ready = await receiver.next(m => has(m, 'READY=1'), 10_000)
    expect(await answerAtReady).toBe(200)
    await receiver.next(m => m.fields.some(f => /^STATUS=peers \d+, sessions \d+$/.test(f)), 5000)

    // WATCHDOG_USEC=2 s: a ping every second from then on.
    await receiver.next(m => has(m, 'WATCHDOG=1') && m.t > ready.t + 2500, 6000)
    const pings = receiver.messages.filter(m => has(m, 'WATCHDOG=1')).map(m => m.t)
    expect(pings.length).toBeGreaterThanOrEqual(3)
    const gaps = pings.slice(1).map((t, i) => t - pings[i])
    expect(Math.max(...gaps)).toBeLessThan(1900)

    expect(await edged.stop()).toBe(0)
    await receiver.next(m => has(m, 'STOPPING=1'), 3000)
    expect(receiver.messages.filter(m => has(m, 'READY=1'))).toHaveLength(1)
  })
})
