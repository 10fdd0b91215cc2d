import fs from 'node:fs/promises'
import path from 'node:path'
import { stringify } from 'yaml'
import type { Child } from './child.ts'
import type { BenchContext } from './types.ts'
import { unixJson } from './unix-json.ts'
import { sleep } from './sleep.ts'

const START_TIMEOUT_MS = 30_000

export interface EdgedDaemon {
  name: string
  dir: string
  socket: string
  peerId: string
  addresses: string[]
  child: Child
}

export interface EdgedOptions {
  name: string
  /** Extra keys merged into `swarm` (bootstrap, autoconnect, …). */
  swarm?: Record<string, unknown>
  rtc?: Record<string, unknown>
  /** The `media` section (sources, encoders); edged's defaults when absent. */
  media?: Record<string, unknown>
  log?: Record<string, unknown>
  /** The `web` section; the web listener is off when absent. */
  web?: Record<string, unknown>
  /** The `foxglove` section; the Foxglove listener is off when absent. */
  foxglove?: Record<string, unknown>
  /** Use this (context) directory instead of a new one: an identity can be put into `<dir>/state` first. */
  dir?: string
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string
}

/** bin/edged, or $EDGED_BIN (an executable, or a .ts file run by this Node) to measure another build. */
export function edgedCommand (repoRoot: string, configFile: string): [string, string[]] {
  const bin = process.env.EDGED_BIN ?? path.join(repoRoot, 'bin', 'edged')
  return bin.endsWith('.ts') ? [process.execPath, [bin, '--config', configFile]] : [bin, ['--config', configFile]]
}

/**
 * Spawn edged on a config of its own (loopback only, no mDNS, no web listener)
 * in a temp dir of the context, and wait until GET /v1/status answers.
 * Both are cleaned up with the context.
 */
export async function startEdged (ctx: BenchContext, options: EdgedOptions): Promise<EdgedDaemon> {
  const dir = options.dir ?? await ctx.tempDir(`${options.name}-`)
  const socket = path.join(dir, 'control.sock')
  const configFile = path.join(dir, 'edged.yaml')
  await fs.writeFile(configFile, stringify({
    stateDir: path.join(dir, 'state'),
    control: { socket },
    swarm: {
      name: 'bench',
      nodeName: options.name,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      // BENCH_ANNOUNCE_MS: an experiment on what presence work costs a bench (edged's default is 5000).
      announceIntervalMs: Number(process.env.BENCH_ANNOUNCE_MS ?? 500),
      ...options.swarm
    },
    rtc: options.rtc ?? {},
    ...(options.media === undefined ? {} : { media: options.media }),
    web: options.web ?? { enabled: false },
    ...(options.foxglove === undefined ? {} : { foxglove: options.foxglove }),
    log: options.log ?? { level: 'info' }
  }))
  const [bin, binArgs] = edgedCommand(ctx.repoRoot, configFile)
  const [cmd, args] = options.netns === undefined ? [bin, binArgs] : ['ip', ['netns', 'exec', options.netns, bin, ...binArgs]]
  const child = ctx.spawn(cmd, args, { cwd: ctx.repoRoot })
  const deadline = performance.now() + START_TIMEOUT_MS
  for (;;) {
    if (!child.running) throw new Error(`edged ${options.name} exited during start:\n${child.output().slice(-3000)}`)
    const res = await unixJson(socket, 'GET', '/v1/status').catch(() => undefined)
    if (res?.status === 200) {
      return { name: options.name, dir, socket, peerId: res.body.peerId, addresses: res.body.addresses, child }
    }
    if (performance.now() > deadline) throw new Error(`edged ${options.name} did not answer on ${socket} in ${START_TIMEOUT_MS} ms:\n${child.output().slice(-3000)}`)
    await sleep(20)
  }
}

/** Wait until `daemon` lists `peer` in GET /v1/peers. */
export async function waitForPeer (daemon: EdgedDaemon, peer: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const res = await unixJson(daemon.socket, 'GET', '/v1/peers')
    if (res.status === 200 && (res.body.peers as Array<{ peerId: string }>).some(p => p.peerId === peer)) return
    if (!daemon.child.running) throw new Error(`edged ${daemon.name} exited:\n${daemon.child.output().slice(-3000)}`)
    if (performance.now() > deadline) throw new Error(`edged ${daemon.name} did not learn of ${peer} in ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** The daemon's session with `peer` from GET /v1/sessions, if it lists one. */
export async function sessionWith (daemon: EdgedDaemon, peer: string): Promise<any | undefined> {
  const res = await unixJson(daemon.socket, 'GET', '/v1/sessions')
  if (res.status !== 200) throw new Error(`GET /v1/sessions on ${daemon.name}: ${res.status}`)
  return (res.body.sessions as Array<{ peer: string }>).find(s => s.peer === peer)
}

/** Connected, with the named channel open. */
export function isReady (session: any, label: string): boolean {
  return session?.state === 'connected' && (session.channels as Array<{ label: string, open: boolean }>).some(c => c.label === label && c.open)
}

/** Not connecting or connected (gone from the list, idle, closed or failed). */
export function isDown (session: any): boolean {
  return session === undefined || !['connecting', 'connected'].includes(session.state)
}
