import { spawn } from 'node:child_process'
import { NotifyError } from '../util/errors.ts'

/** Delivers one sd_notify message (its `KEY=VALUE` fields) to the socket; rejects with a NotifyError. */
export type NotifySender = (socket: string, fields: string[]) => Promise<void>

/** systemd-notify waits (barrier) until PID 1 has read the message; PID 1 gives up on it after 5 s. */
export const SEND_TIMEOUT_MS = 8000
const STDERR_TAIL = 500

/**
 * Node cannot send unix datagrams (node:dgram is UDP only), and a native addon
 * would have to be built for the project's own Node on every robot, so the
 * message goes through systemd's own `systemd-notify` (present wherever
 * systemd is). Without --no-block it sends BARRIER=1 after the message and
 * waits until PID 1 has processed both, so it is still alive when PID 1 looks
 * up its cgroup: the race that drops messages of short-lived senders
 * (systemd#2737) cannot happen. It runs as a child of edged, so the unit
 * needs NotifyAccess=all.
 */
export function createSystemdNotifySender (command = 'systemd-notify', timeoutMs = SEND_TIMEOUT_MS): NotifySender {
  return async (socket, fields) => {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, fields, {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket },
        stdio: ['ignore', 'ignore', 'pipe']
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL) })
      const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
      child.once('error', err => {
        clearTimeout(timer)
        reject(new NotifyError(socket, `cannot run ${command}: ${err.message}`, { cause: err }))
      })
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        if (code === 0) { resolve(); return }
        const why = signal === 'SIGKILL' ? `${command} did not finish within ${timeoutMs} ms` : `${command} exited with ${code ?? signal}`
        reject(new NotifyError(socket, `${why}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`))
      })
    })
  }
}
