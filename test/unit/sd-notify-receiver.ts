import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { makeTempDir } from '../helpers/temp-dir.ts'

/**
 * A stand-in for PID 1's notification socket. Node cannot bind a unix
 * datagram socket, so python3 does: it prints each datagram as a JSON line
 * and closes the fds that come with it (systemd-notify's BARRIER=1 pipe), as
 * PID 1 does.
 */
const RECEIVER = String.raw`
import array, json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"t": time.time() * 1000, "fields": data.decode().split("\n")}), flush=True)
`

export const PYTHON = ((): string | undefined => {
  const res = spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { encoding: 'utf8' })
  return res.status === 0 ? 'python3' : undefined
})()

export const NO_RECEIVER_REASON = 'python3 not found: no unix datagram receiver to stand in for systemd'

export interface NotifyMessage {
  /** Wall-clock ms when the receiver read it. */
  t: number
  fields: string[]
}

export interface NotifyReceiver {
  socket: string
  messages: NotifyMessage[]
  /** Resolves with the first message (already received or to come) that matches. */
  next: (match: (m: NotifyMessage) => boolean, timeoutMs?: number) => Promise<NotifyMessage>
  /** Called for every message as it arrives. */
  onMessage: (listener: (m: NotifyMessage) => void) => void
  close: () => Promise<void>
}

export async function startNotifyReceiver (): Promise<NotifyReceiver> {
  if (PYTHON === undefined) throw new Error(NO_RECEIVER_REASON)
  const temp = await makeTempDir('sdn-')
  const socket = path.join(temp.dir, 'notify.sock')
  const proc: ChildProcess = spawn(PYTHON, ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] })
  const messages: NotifyMessage[] = []
  const listeners: Array<(m: NotifyMessage) => void> = []
  await new Promise<void>((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', code => { reject(new Error(`notify receiver exited with ${code}`)) })
    readline.createInterface({ input: proc.stdout! }).on('line', line => {
      const parsed = JSON.parse(line)
      if (parsed.listening === true) { resolve(); return }
      messages.push(parsed)
      for (const l of listeners) l(parsed)
    })
  })

  const next = async (match: (m: NotifyMessage) => boolean, timeoutMs = 10_000): Promise<NotifyMessage> => {
    const seen = messages.find(match)
    if (seen !== undefined) return seen
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching sd_notify message within ${timeoutMs} ms; got ${JSON.stringify(messages.map(m => m.fields))}`))
      }, timeoutMs)
      listeners.push(m => {
        if (match(m)) { clearTimeout(timer); resolve(m) }
      })
    })
  }

  return {
    socket,
    messages,
    next,
    onMessage: listener => { listeners.push(listener) },
    close: async () => {
      proc.removeAllListeners('exit')
      if (proc.exitCode === null) {
        const gone = new Promise(resolve => proc.once('exit', resolve))
        proc.kill('SIGKILL')
        await gone
      }
      await temp.cleanup()
    }
  }
}

/** Whether a message carries this exact field, e.g. has(m, 'READY=1'). */
export const has = (m: NotifyMessage, field: string): boolean => m.fields.includes(field)
