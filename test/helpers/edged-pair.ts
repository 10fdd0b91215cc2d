import net from 'node:net'
import { startEdged, type EdgedProcess } from './edged-process.ts'
import { makeIdentity } from './identity.ts'
import { makeTempDir } from './temp-dir.ts'

/**
 * Below Linux's ephemeral range (32768–60999 by default): no socket gets one
 * of these ports unless it asks for it, so one free now stays free until the
 * daemon listens on it.
 */
const FIXED_PORTS = { from: 20_000, to: 32_000 }

/** A loopback TCP port nothing listens on now, outside the ephemeral range (in a namespace of its own, any port is free). */
export async function unusedLoopbackPort (): Promise<number> {
  for (;;) {
    const port = FIXED_PORTS.from + Math.floor(Math.random() * (FIXED_PORTS.to - FIXED_PORTS.from))
    const free = await new Promise<boolean>(resolve => {
      const server = net.createServer()
      server.once('error', () => { resolve(false) })
      server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
    })
    if (free) return port
  }
}

export interface PairSide {
  name: string
  /** Merged over the test defaults, as startEdged's; swarm.listen and swarm.bootstrap are set here. */
  config?: Record<string, any>
  /** A directory of the caller's (its identity made with makeIdentity: pass `peerId`); else a temp one. */
  dir?: string
  peerId?: string
  netns?: string
  /** The IPv4 address it listens on (default 127.0.0.1; 0.0.0.0 in a namespace of its own)… */
  listenHost?: string
  /** …and the one its peer dials (default: listenHost). */
  address?: string
}

/**
 * Two daemons on loopback that find each other, started at once instead of
 * one after the other (each start is over a second of CPU). Their identities
 * and listen ports are chosen first and each lists the other as its
 * bootstrap peer: whichever listens last dials the one already listening.
 */
export async function startEdgedPair (a: PairSide, b: PairSide): Promise<[EdgedProcess, EdgedProcess]> {
  const sides = await Promise.all([a, b].map(async side => {
    const temp = side.dir === undefined ? await makeTempDir(`edged-${side.name}-`) : undefined
    const dir = side.dir ?? (temp as { dir: string }).dir
    const peerId = side.peerId ?? await makeIdentity(dir)
    return { side, dir, temp, peerId, port: await unusedLoopbackPort() }
  }))
  const started = await Promise.allSettled(sides.map(async ({ side, dir, temp }, i) => {
    const other = sides[1 - i]
    const swarm = side.config?.swarm ?? {}
    const host = (x: PairSide): string => x.address ?? x.listenHost ?? '127.0.0.1'
    const d = await startEdged({
      name: side.name,
      dir,
      netns: side.netns,
      config: {
        ...side.config,
        swarm: {
          ...swarm,
          listen: [`/ip4/${side.listenHost ?? '127.0.0.1'}/tcp/${sides[i].port}`],
          bootstrap: [...(swarm.bootstrap ?? []), `/ip4/${host(other.side)}/tcp/${other.port}/p2p/${other.peerId}`]
        }
      }
    })
    // A directory made here goes with the daemon's cleanup, as startEdged's own temp dirs do.
    return temp === undefined ? d : { ...d, cleanup: async () => { await d.cleanup(); await temp.cleanup() } }
  }))
  const failed = started.find(s => s.status === 'rejected')
  if (failed !== undefined) {
    await Promise.all(started.map(async s => { if (s.status === 'fulfilled') await s.value.cleanup() }))
    await Promise.all(sides.map(async s => { await s.temp?.cleanup() }))
    throw failed.reason
  }
  return started.map(s => (s as PromiseFulfilledResult<EdgedProcess>).value) as [EdgedProcess, EdgedProcess]
}
