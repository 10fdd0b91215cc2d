import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createLoopbackNetns } from '../helpers/netns.ts'

/**
 * mDNS sends multicast on the host's default interface, so these tests run
 * their swarms in a child process inside a network namespace that has only
 * a loopback interface: nothing leaves it. They need root (ip netns).
 */

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node')
const CHILD = path.join(import.meta.dirname, 'signalling-mdns-child.ts')

const netns = createLoopbackNetns(`edge-sig-mdns-${process.pid}`)
const skip = 'skip' in netns ? netns.skip : undefined

interface ChildResult {
  foundMs: number
  error?: string
  nodes: Record<string, { peers: string[], connectedTo: string[] }>
}

async function runInNetns (spec: object): Promise<ChildResult> {
  if ('skip' in netns) throw new Error(netns.skip)
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', netns.name, NODE, CHILD, JSON.stringify(spec)], { timeout: 30_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildResult
}

describe.skipIf(skip !== undefined)(`swarm over mDNS${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  afterAll(() => { if (!('skip' in netns)) netns.remove() })

  it('three nodes with mDNS and no bootstrap find each other, with names', async () => {
    const result = await runInNetns({
      nodes: [{ name: 'a', swarm: 'alpha' }, { name: 'b', swarm: 'alpha' }, { name: 'c', swarm: 'alpha' }],
      expect: { a: ['b', 'c'], b: ['a', 'c'], c: ['a', 'b'] },
      timeoutMs: 10_000,
      settleMs: 0
    })
    expect(result.error).toBeUndefined()
    expect(result.nodes.a).toEqual({ peers: ['b', 'c'], connectedTo: ['b', 'c'] })
    expect(result.nodes.b).toEqual({ peers: ['a', 'c'], connectedTo: ['a', 'c'] })
    expect(result.nodes.c).toEqual({ peers: ['a', 'b'], connectedTo: ['a', 'b'] })
  })

  it('two swarms on one LAN never see nor dial each other\'s peers', async () => {
    const result = await runInNetns({
      nodes: [{ name: 'a1', swarm: 'alpha' }, { name: 'b1', swarm: 'beta' }, { name: 'a2', swarm: 'alpha' }, { name: 'b2', swarm: 'beta' }],
      expect: { a1: ['a2'], a2: ['a1'], b1: ['b2'], b2: ['b1'] },
      timeoutMs: 10_000,
      settleMs: 1_500
    })
    expect(result.error).toBeUndefined()
    expect(result.nodes).toEqual({
      a1: { peers: ['a2'], connectedTo: ['a2'] },
      a2: { peers: ['a1'], connectedTo: ['a1'] },
      b1: { peers: ['b2'], connectedTo: ['b2'] },
      b2: { peers: ['b1'], connectedTo: ['b1'] }
    })
  })
})
