/**
 * Runs inside a loopback-only network namespace for signalling-mdns.test.ts
 * (mDNS must never reach a real network): starts the swarms described in
 * argv[2] with mDNS on and nothing else to find peers by, waits until every
 * node sees the peers it expects (then `settleMs` more, to catch strays) and
 * prints what each node saw as one JSON line.
 */
import { TestSwarms, waitFor } from './signalling-test-swarm.ts'
import type { Swarm } from '../../src/signalling/types.ts'

interface Spec {
  nodes: Array<{ name: string, swarm: string }>
  expect: Record<string, string[]>
  timeoutMs: number
  settleMs: number
}

const spec = JSON.parse(process.argv[2]) as Spec
const swarms = new TestSwarms()
const byName = new Map<string, Swarm>()
const t0 = Date.now()
let error: string | undefined
try {
  for (const n of spec.nodes) {
    byName.set(n.name, await swarms.start({ name: n.name, swarm: { name: n.swarm, mdns: true, bootstrap: [] } }))
  }
  const sees = (name: string): string[] => (byName.get(name)?.peers() ?? []).map(p => p.name).sort()
  await waitFor('every node to see its peers', () =>
    Object.entries(spec.expect).every(([name, peers]) => sees(name).join() === [...peers].sort().join()), spec.timeoutMs)
    .catch((err: Error) => { error = err.message })
  const foundMs = Date.now() - t0
  await new Promise(resolve => setTimeout(resolve, spec.settleMs))
  const nameOf = new Map([...byName].map(([name, s]) => [s.peerId, name]))
  const nodes = Object.fromEntries([...byName].map(([name, s]) => [name, {
    peers: sees(name),
    connectedTo: s.libp2p.getPeers().map(p => nameOf.get(p.toString()) ?? p.toString()).sort()
  }]))
  process.stdout.write(JSON.stringify({ foundMs, error, nodes }) + '\n')
} finally {
  await swarms.stopAll()
}
