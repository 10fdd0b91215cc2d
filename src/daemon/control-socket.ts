import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { EdgeError, SocketInUseError } from '../util/errors.ts'

export class SocketPathError extends EdgeError {}

const PROBE_TIMEOUT_MS = 1000

/** Whether something accepts connections on the unix socket at `file`. */
async function answers (file: string): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = net.connect(file)
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(PROBE_TIMEOUT_MS, () => { done(true) }) // connected but silent still means taken
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

/**
 * Make `file` free for a new listener: refuse if another daemon answers there,
 * remove a stale socket left by a crash, refuse to touch anything that is not a socket.
 */
export async function claimSocketPath (file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 })
  let stat
  try {
    stat = await fs.lstat(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (!stat.isSocket()) throw new SocketPathError(`${file} exists and is not a socket; refusing to replace it`)
  if (await answers(file)) throw new SocketInUseError(file)
  await fs.rm(file, { force: true })
}

/** Apply the configured mode and group to the listening socket. */
export async function secureSocket (file: string, mode: string, group: string | undefined): Promise<void> {
  await fs.chmod(file, parseInt(mode, 8))
  if (group !== undefined) {
    const gid = await groupId(group)
    await fs.chown(file, -1, gid)
  }
}

async function groupId (group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group)
  const lines = (await fs.readFile('/etc/group', 'utf8')).split('\n')
  for (const line of lines) {
    const [name, , gid] = line.split(':')
    if (name === group && gid !== undefined) return Number(gid)
  }
  throw new SocketPathError(`control.group: no group named ${group} in /etc/group`)
}
