import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { stringify } from 'yaml'
import { makeTempDir } from './temp-dir.ts'
import { unixRequest } from './unix-http.ts'

export const ROOT = path.resolve(import.meta.dirname, '..', '..')
export const EDGED = path.join(ROOT, 'bin', 'edged')
export const EDGECTL = path.join(ROOT, 'bin', 'edgectl')

/**
 * Daemons still running. A test that times out is abandoned without its
 * `finally`: whatever it started is killed after its file (see
 * kill-leftover-daemons.ts, a setup file of every project).
 */
const live = new Set<ChildProcess>()

/** SIGKILL every daemon this worker started that is still running; how many there were. */
export function killLeftoverDaemons (): number {
  const left = [...live]
  for (const proc of left) proc.kill('SIGKILL')
  live.clear()
  return left.length
}

export interface EdgedOptions {
  name: string
  /** Merged over the test defaults (loopback listen, no mDNS, no web, quick presence). */
  config?: Record<string, any>
  /** Reuse a directory (same identity) across restarts. */
  dir?: string
  netns?: string
  env?: Record<string, string>
  startTimeoutMs?: number
}

export interface EdgedProcess {
  name: string
  dir: string
  socket: string
  configFile: string
  proc: ChildProcess
  peerId: string
  /** The last 200 kB of what it printed. */
  output: () => string
  /** How much it has printed so far (a mark for outputSince). */
  printed: () => number
  /** What it printed since `printed()` was `mark` (as far as the last 200 kB go back). */
  outputSince: (mark: number) => string
  /** SIGTERM and wait; resolves to the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
  exited: Promise<number | null>
  cleanup: () => Promise<void>
}

function merge (base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && typeof base[k] === 'object'
      ? merge(base[k], v)
      : v
  }
  return out
}

export function testConfig (dir: string, name: string, over: Record<string, any> = {}): Record<string, any> {
  return merge({
    stateDir: path.join(dir, 'state'),
    control: { socket: path.join(dir, 'edged.sock') },
    swarm: {
      name: 'test', nodeName: name, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false,
      announceIntervalMs: 500, peerExpiryMs: 3000
    },
    web: { enabled: false },
    log: { level: 'info' }
  }, over)
}

/** Spawn bin/edged on a config of its own and wait until its control socket answers. */
export async function startEdged (opts: EdgedOptions): Promise<EdgedProcess> {
  const temp = opts.dir === undefined ? await makeTempDir(`edged-${opts.name}-`) : undefined
  const dir = opts.dir ?? (temp as { dir: string }).dir
  const config = testConfig(dir, opts.name, opts.config)
  const configFile = path.join(dir, 'edged.yaml')
  await fs.writeFile(configFile, stringify(config))
  const socket = config.control.socket as string

  const [cmd, args] = opts.netns === undefined
    ? [EDGED, ['--config', configFile]]
    : ['ip', ['netns', 'exec', opts.netns, EDGED, '--config', configFile]]
  const proc = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(proc)
  proc.once('exit', () => { live.delete(proc) })
  let out = ''
  let printed = 0
  const keep = (c: Buffer): void => {
    const text = c.toString()
    printed += text.length
    out = (out + text).slice(-200_000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  const exited = new Promise<number | null>(resolve => { proc.once('exit', code => { resolve(code) }) })
  let running = true
  void exited.then(() => { running = false })

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000)
  let peerId = ''
  while (peerId === '') {
    if (!running) throw new Error(`edged ${opts.name} exited during start:\n${out.slice(-3000)}`)
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`edged ${opts.name} did not answer on ${socket} in time:\n${out.slice(-3000)}`)
    }
    try {
      const res = await unixRequest(socket, 'GET', '/v1/status')
      if (res.status === 200) peerId = res.body.peerId
    } catch {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (running) proc.kill(signal)
    const timer = setTimeout(() => { proc.kill('SIGKILL') }, 8000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return {
    name: opts.name, dir, socket, configFile, proc, peerId, exited, stop,
    output: () => out,
    printed: () => printed,
    outputSince: (mark) => out.slice(Math.max(0, out.length - (printed - mark))),
    cleanup: async () => { await stop(); await temp?.cleanup() }
  }
}

/** Poll `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false && value !== null) return value
    } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
