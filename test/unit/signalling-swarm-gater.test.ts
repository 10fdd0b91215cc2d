import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MultiaddrConnection } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { AllowPolicy } from '../../src/signalling/allow-policy.ts'
import { MAX_CONNECTIONS_PER_PEER, swarmGater } from '../../src/signalling/swarm-gater.ts'

describe('swarm gater', () => {
  it(`refuses a peer's connection past ${MAX_CONNECTIONS_PER_PEER} open ones, and peers off the allow list`, async () => {
    const [a, b] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const peerA = peerIdFromPrivateKey(a)
    const peerB = peerIdFromPrivateKey(b)
    const open = new Map([[peerA.toString(), MAX_CONNECTIONS_PER_PEER - 1]])
    const allow = new AllowPolicy([])
    const gater = swarmGater({ allow, connectionsTo: p => open.get(p.toString()) ?? 0 })
    const conn = {} as unknown as MultiaddrConnection
    expect(await gater.denyInboundUpgradedConnection?.(peerA, conn)).toBe(false)
    open.set(peerA.toString(), MAX_CONNECTIONS_PER_PEER)
    expect(await gater.denyInboundUpgradedConnection?.(peerA, conn)).toBe(true)
    allow.set([peerA.toString()])
    expect(await gater.denyInboundUpgradedConnection?.(peerB, conn)).toBe(true)
    expect(await gater.denyInboundEncryptedConnection?.(peerB, conn)).toBe(true)
  })
})
