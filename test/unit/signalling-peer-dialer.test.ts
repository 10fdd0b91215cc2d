import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { AllowPolicy } from '../../src/signalling/allow-policy.ts'
import { PeerDialer } from '../../src/signalling/peer-dialer.ts'

const peer = (id: string): PeerId => ({ toString: () => id, equals: (o: PeerId) => o.toString() === id }) as unknown as PeerId

/** A libp2p whose dials hang until released, with `open` connections already. */
function fakeLibp2p (open: string[]): { libp2p: any, dialled: string[], merged: string[] } {
  const dialled: string[] = []
  const merged: string[] = []
  const libp2p = {
    peerId: peer('self'),
    getPeers: () => open.map(peer),
    getConnections: (p: PeerId) => open.includes(p.toString()) ? [{}] : [],
    dial: async (p: PeerId) => { dialled.push(p.toString()); await new Promise(() => {}) },
    peerStore: { merge: async (p: PeerId, { multiaddrs }: { multiaddrs: unknown[] }) => { merged.push(`${p.toString()} ${multiaddrs.length}`) } }
  }
  return { libp2p, dialled, merged }
}

describe('PeerDialer: the overlay', () => {
  it('dials found peers only up to overlayPeers connections (dials in flight count), and keeps the rest\'s addresses', async () => {
    const { libp2p, dialled, merged } = fakeLibp2p(['a', 'b'])
    const dialer = new PeerDialer({ libp2p, allow: new AllowPolicy([]), overlayPeers: 4, log: pino({ level: 'silent' }) })
    const addr = [multiaddr('/ip4/10.0.0.9/tcp/4001')]
    for (const id of ['c', 'd', 'e', 'f']) dialer.dial(peer(id), addr, 'presence', { optional: true })
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(dialled).toEqual(['c', 'd'])
    // e and f were stored once each, not again for the same addresses.
    dialer.dial(peer('e'), addr, 'presence', { optional: true })
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(merged.filter(m => m.startsWith('e') || m.startsWith('f'))).toEqual(['e 1', 'f 1'])
    // What we need (bootstrap, a redial) is dialled whatever the overlay.
    dialer.dial(peer('g'), addr, 'bootstrap')
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(dialled).toContain('g')
    dialer.stop()
  })

  it('keeps back-offs and stored addresses for at most maxTrackedPeers peers, dropping the oldest', async () => {
    const { libp2p } = fakeLibp2p(['a'])
    libp2p.dial = async () => { throw new Error('unreachable') }
    const dialer = new PeerDialer({ libp2p, allow: new AllowPolicy([]), overlayPeers: 2, maxTrackedPeers: 8, log: pino({ level: 'silent' }) })
    const addr = [multiaddr('/ip4/10.0.0.9/tcp/4001')]
    // 50 sybils whose dials fail (back-offs), then 50 more past the overlay (stored addresses).
    for (let i = 0; i < 50; i++) {
      dialer.dial(peer(`fail-${i}`), addr, 'bootstrap')
      await new Promise(resolve => setTimeout(resolve, 1))
    }
    for (let i = 0; i < 50; i++) dialer.dial(peer(`stored-${i}`), addr, 'presence', { optional: true })
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(dialer.tracked).toEqual({ backoff: 8, remembered: 8 })
    // The newest back-off is kept: that peer is not dialled again at once.
    let dials = 0
    libp2p.dial = async () => { dials++; throw new Error('unreachable') }
    dialer.dial(peer('fail-49'), addr, 'bootstrap')
    dialer.dial(peer('fail-0'), addr, 'bootstrap')
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(dials).toBe(1)
    dialer.stop()
  })
})
