import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { EDGECTL, startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { createLoopbackNetns } from '../helpers/netns.ts'

const run = promisify(execFile)
const running: EdgedProcess[] = []
const cleanups: Array<() => void> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async d => { await d.cleanup() }))
  for (const c of cleanups.splice(0)) c()
})

async function peersOf (d: EdgedProcess): Promise<Array<{ peerId: string, name: string }>> {
  const { stdout } = await run(EDGECTL, ['--socket', d.socket, 'peers', '--json'])
  return JSON.parse(stdout).peers
}

/** Every daemon lists exactly the others, by peer id and name. */
async function expectFullPresence (daemons: EdgedProcess[], timeoutMs = 15_000): Promise<void> {
  for (const d of daemons) {
    const others = daemons.filter(o => o !== d).map(o => ({ peerId: o.peerId, name: o.name })).sort((a, b) => a.peerId.localeCompare(b.peerId))
    await waitFor(`${d.name} to list ${others.map(o => o.name).join(', ')}`, async () => {
      const peers = (await peersOf(d)).map(p => ({ peerId: p.peerId, name: p.name })).sort((a, b) => a.peerId.localeCompare(b.peerId))
      return JSON.stringify(peers) === JSON.stringify(others)
    }, timeoutMs, 250)
  }
}

describe('swarm discovery between edged processes', () => {
  it('finds peers by mDNS (inside a network namespace of the test own)', async (ctx) => {
    const ns = createLoopbackNetns(`edge-mdns-${process.pid}`)
    if ('skip' in ns) { ctx.skip(ns.skip); return }
    cleanups.push(ns.remove)
    const config = { swarm: { mdns: true } }
    const daemons = await Promise.all(['alpha', 'bravo', 'charlie'].map(async name => {
      const d = await startEdged({ name, config, netns: ns.name })
      running.push(d)
      return d
    }))
    await expectFullPresence(daemons)
  })

  it('finds peers with mDNS off through a bootstrap list and the DHT rendezvous; drops a stopped one', async () => {
    const a = await startEdged({ name: 'alpha' })
    running.push(a)
    const status = JSON.parse((await run(EDGECTL, ['--socket', a.socket, 'status', '--json'])).stdout)
    const config = { swarm: { bootstrap: [status.addresses[0]] } }
    const [b, c] = await Promise.all(['bravo', 'charlie'].map(async name => {
      const d = await startEdged({ name, config })
      running.push(d)
      return d
    }))
    await expectFullPresence([a, b, c])

    // Stopped daemons leave: the others drop it (announced leave, or expiry).
    await c.stop()
    await waitFor('charlie to be dropped', async () => {
      const [pa, pb] = await Promise.all([peersOf(a), peersOf(b)])
      return pa.every(p => p.peerId !== c.peerId) && pb.every(p => p.peerId !== c.peerId)
    }, 10_000)

    // A killed one (no goodbye) expires after peerExpiryMs.
    await b.stop('SIGKILL')
    await waitFor('bravo to expire', async () => (await peersOf(a)).length === 0, 15_000)
  })

  it('keeps two swarms apart', async () => {
    const a = await startEdged({ name: 'alpha', config: { swarm: { name: 'red' } } })
    running.push(a)
    const boot = { swarm: { name: 'blue', bootstrap: [(await peersAddr(a))] } }
    const [b, c] = await Promise.all([boot, { swarm: { ...boot.swarm, name: 'red' } }].map(async (config, i) => {
      const d = await startEdged({ name: ['bravo', 'charlie'][i], config })
      running.push(d)
      return d
    }))
    await expectFullPresence([a, c])
    await new Promise(resolve => setTimeout(resolve, 1500))
    expect(await peersOf(b)).toEqual([])
    expect((await peersOf(a)).map(p => p.peerId)).toEqual([c.peerId])
  })
})

async function peersAddr (d: EdgedProcess): Promise<string> {
  const { stdout } = await run(EDGECTL, ['--socket', d.socket, 'status', '--json'])
  return JSON.parse(stdout).addresses[0]
}
