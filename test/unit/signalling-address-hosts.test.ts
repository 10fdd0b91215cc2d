import { describe, expect, it } from 'vitest'
import { addressHosts, lostHost } from '../../src/signalling/address-hosts.ts'

const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const RELAY = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

describe('address hosts', () => {
  it('are the IP hosts of direct addresses; ports and relayed addresses do not count', () => {
    expect([...addressHosts([`/ip4/10.0.0.5/tcp/4001/p2p/${PEER}`, '/ip6/fd00::2/udp/9/quic-v1', `/ip4/10.0.0.9/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`, '/dns4/robot.local/tcp/1'])])
      .toEqual(['10.0.0.5', 'fd00::2'])
  })

  it('are lost when a host goes, not when a port changes or a relay reservation ends', () => {
    const before = ['/ip4/10.0.0.5/tcp/4001', `/ip4/10.0.0.9/tcp/4001/p2p/${RELAY}/p2p-circuit`]
    expect(lostHost(before, ['/ip4/10.0.0.5/tcp/4999'])).toBe(false)
    expect(lostHost(before, ['/ip4/10.0.0.6/tcp/4001'])).toBe(true)
    expect(lostHost(['/ip4/10.0.0.5/tcp/4001'], ['/ip4/10.0.0.5/tcp/4001', '/ip4/10.0.0.7/tcp/4001'])).toBe(false)
  })
})
