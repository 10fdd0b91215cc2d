import { describe, expect, it } from 'vitest'
import { PresenceTable, type PeerEventName } from '../../src/signalling/presence-table.ts'
import type { PeerInfo, PresenceRecord } from '../../src/signalling/types.ts'

const ID = '12D3KooWQa5kgRT63wzxuGp2qsPiqbdix4sEJ4Rk8QofKY42pkNQ'

function record (over: Partial<PresenceRecord> = {}): PresenceRecord {
  return { peerId: ID, swarm: 'unit', instance: 'i-1', name: 'a', version: '1', sources: [], stack: 'webrtc', addresses: ['/ip4/127.0.0.1/tcp/1'], seq: 1, ts: 0, ...over }
}

function table (): { t: PresenceTable, events: Array<[PeerEventName, PeerInfo]> } {
  const events: Array<[PeerEventName, PeerInfo]> = []
  return { t: new PresenceTable((e, p) => { events.push([e, p]) }), events }
}

describe('presence table', () => {
  it('emits discovered once, then updated only when the content changes', () => {
    const { t, events } = table()
    expect(t.apply(record({ seq: 1 }), true, 1000)).toBe(true)
    expect(t.apply(record({ seq: 2 }), true, 2000)).toBe(true)
    expect(events.map(e => e[0])).toEqual(['peer:discovered'])
    expect(t.get(ID)?.lastSeen).toBe(new Date(2000).toISOString())

    t.apply(record({ seq: 3, name: 'renamed' }), true, 3000)
    t.apply(record({ seq: 4, name: 'renamed', sources: [{ name: 'video', kind: 'video', codec: 'h264' }] }), true, 3000)
    t.apply(record({ seq: 5, name: 'renamed', sources: [{ name: 'video', kind: 'video', codec: 'h264' }], stack: 'data' }), true, 3000)
    t.apply(record({ seq: 6, name: 'renamed', sources: [{ name: 'video', kind: 'video', codec: 'h264' }], stack: 'data', addresses: [] }), true, 3000)
    expect(events.map(e => e[0])).toEqual(['peer:discovered', 'peer:updated', 'peer:updated', 'peer:updated', 'peer:updated'])
    expect(events[4][1]).toMatchObject({ name: 'renamed', stack: 'data', addresses: [], connected: true })
  })

  it('a peer that fills its session slots, or frees one, is updated', () => {
    const { t, events } = table()
    t.apply(record({ seq: 1 }), true)
    t.apply(record({ seq: 2, full: true }), true)
    expect(t.get(ID)?.full).toBe(true)
    t.apply(record({ seq: 3 }), true)
    expect(t.get(ID)?.full).toBeUndefined()
    expect(events.map(e => e[0])).toEqual(['peer:discovered', 'peer:updated', 'peer:updated'])
  })

  it('ignores stale and replayed records', () => {
    const { t, events } = table()
    t.apply(record({ seq: 5 }), true)
    expect(t.apply(record({ seq: 5, name: 'replay' }), true)).toBe(false)
    expect(t.apply(record({ seq: 4, name: 'old' }), true)).toBe(false)
    expect(t.get(ID)?.name).toBe('a')
    expect(events).toHaveLength(1)
  })

  it('reports connection changes as updates', () => {
    const { t, events } = table()
    t.apply(record(), false)
    t.setConnected(ID, false)
    t.setConnected(ID, true)
    t.setConnected('12D3KooWunknown', true)
    expect(events.map(e => [e[0], e[1].connected])).toEqual([['peer:discovered', false], ['peer:updated', true]])
  })

  it('loses a leaving peer at once, and a replay of its older record cannot bring it back', () => {
    const { t, events } = table()
    t.apply(record({ seq: 1 }), true)
    t.apply(record({ seq: 2, leaving: true }), true)
    expect(t.has(ID)).toBe(false)
    expect(t.apply(record({ seq: 1 }), true)).toBe(false)
    expect(events.map(e => e[0])).toEqual(['peer:discovered', 'peer:lost'])
    // A restart publishes a higher seq and is a new discovery.
    t.apply(record({ seq: 3 }), true)
    expect(events.map(e => e[0])).toEqual(['peer:discovered', 'peer:lost', 'peer:discovered'])
  })

  it('lists silent peers and forgets the seq of long-gone ones', () => {
    const { t } = table()
    t.apply(record({ seq: 1 }), true, 1000)
    expect(t.silent(2000, () => 1000)).toEqual([])
    expect(t.silent(2001, () => 1000)).toEqual([ID])
    t.remove(ID)
    t.pruneSeqs(500)
    expect(t.lastSeq(ID)).toBe(1)
    t.pruneSeqs(1001)
    expect(t.lastSeq(ID)).toBeUndefined()
  })

  it('hands out copies, never its own entries', () => {
    const { t } = table()
    t.apply(record(), true)
    const peer = t.list()[0]
    peer.name = 'mutated'
    peer.addresses.push('x')
    expect(t.get(ID)).toMatchObject({ name: 'a', addresses: ['/ip4/127.0.0.1/tcp/1'] })
  })

  it('keeps each record\'s signed form and hands out those newer than a sync request has', () => {
    const other = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
    const { t } = table()
    const envelope = (n: number): Uint8Array => new Uint8Array([n])
    t.apply(record({ seq: 5 }), true, 1000, envelope(5))
    t.apply(record({ peerId: other, seq: 7 }), false, 2000, envelope(7))
    t.apply(record({ peerId: '12D3KooWNoEnvelope', seq: 1 }), false, 2000)
    expect(t.seqs()).toEqual(new Map([[ID, 5], [other, 7], ['12D3KooWNoEnvelope', 1]]))
    expect(t.signedAfter(new Map()).map(r => [r.peerId, r.envelope[0], r.lastSeenMs])).toEqual([[ID, 5, 1000], [other, 7, 2000]])
    expect(t.signedAfter(new Map([[ID, 5], [other, 6]])).map(r => r.peerId)).toEqual([other])
    expect(t.signedAfter(t.seqs())).toEqual([])
    // A request names at most so many peers: the most recently heard.
    expect([...t.seqs(2).keys()]).toEqual([other, '12D3KooWNoEnvelope'])
  })

  it('a relayed record heard earlier than the last one does not move lastSeen back', () => {
    const { t } = table()
    t.apply(record({ seq: 1 }), true, 5000)
    t.apply(record({ seq: 2 }), true, 3000)
    expect(t.get(ID)?.lastSeen).toBe(new Date(5000).toISOString())
    expect(t.silent(6000, () => 2000)).toEqual([])
  })
})

describe('presence table bounds', () => {
  const id = (n: number): string => `12D3KooWpeer${String(n).padStart(4, '0')}`
  const bounded = (maxPeers: number, maxEveryMs?: number): { t: PresenceTable, events: Array<[PeerEventName, PeerInfo]> } => {
    const events: Array<[PeerEventName, PeerInfo]> = []
    return { t: new PresenceTable((e, p) => { events.push([e, p]) }, { maxPeers, ...(maxEveryMs !== undefined ? { maxEveryMs } : {}) }), events }
  }

  it('holds maxPeers; a relayed newcomer displaces only the oldest relayed peer, never a connected or once-connected one', () => {
    const { t } = bounded(3)
    t.apply(record({ peerId: id(1), name: 'connected' }), true, 1000)
    t.apply(record({ peerId: id(2), name: 'once' }), true, 1100)
    t.setConnected(id(2), false)
    t.apply(record({ peerId: id(3), name: 'relayed' }), false, 1200)
    expect(t.apply(record({ peerId: id(4), name: 'sybil' }), false, 2000)).toBe(true)
    expect(t.has(id(3))).toBe(false)
    expect(t.size).toBe(3)
    // Now the only relayed peer is the sybil itself: the next relayed one takes its place, no other.
    expect(t.apply(record({ peerId: id(5), name: 'sybil2' }), false, 3000)).toBe(true)
    expect(t.list().map(p => p.peerId).sort()).toEqual([id(1), id(2), id(5)])
  })

  it('refuses a relayed newcomer when every peer held was connected to us', () => {
    const { t } = bounded(2)
    t.apply(record({ peerId: id(1) }), true, 1000)
    t.apply(record({ peerId: id(2) }), true, 1000)
    expect(t.apply(record({ peerId: id(3) }), false, 2000)).toBe(false)
    expect(t.has(id(3))).toBe(false)
    // The refused record left no seq behind: its author may come back when there is room.
    expect(t.lastSeq(id(3))).toBeUndefined()
  })

  it('a connected newcomer displaces a peer without a live connection, relayed-only ones first', () => {
    const { t } = bounded(2)
    t.apply(record({ peerId: id(1) }), true, 1000)
    t.setConnected(id(1), false)
    t.apply(record({ peerId: id(2) }), false, 1500)
    expect(t.apply(record({ peerId: id(3) }), true, 2000)).toBe(true)
    expect(t.has(id(2))).toBe(false)
    expect(t.apply(record({ peerId: id(4) }), true, 2000)).toBe(true)
    expect(t.has(id(1))).toBe(false)
    expect(t.apply(record({ peerId: id(5) }), true, 2000)).toBe(false)
  })

  it('caps a record\'s every', () => {
    const { t } = bounded(8, 60_000)
    t.apply(record({ peerId: id(1), every: 24 * 3_600_000 }), false, 0)
    const seen: Array<number | undefined> = []
    t.silent(10, every => { seen.push(every); return 1 })
    expect(seen).toEqual([60_000])
  })

  it('shows a copied name with the peer id; a peer we are connected to keeps it plain even when the copy came first', () => {
    const { t, events } = bounded(8)
    t.apply(record({ peerId: id(1), name: 'robot' }), false, 1000)
    t.apply(record({ peerId: id(2), name: 'robot' }), false, 2000)
    expect(t.get(id(1))?.name).toBe('robot')
    expect(t.get(id(2))?.name).toBe(`robot (${id(2).slice(-8)})`)
    // id(2) is the one we connect to: it is the robot we can vouch for.
    t.setConnected(id(2), true)
    expect(t.get(id(2))?.name).toBe('robot')
    expect(t.get(id(1))?.name).toBe(`robot (${id(1).slice(-8)})`)
    expect(events.at(-1)).toMatchObject(['peer:updated', { peerId: id(1), name: `robot (${id(1).slice(-8)})` }])
    // A copy arriving after a connected holder is marked at once.
    t.apply(record({ peerId: id(3), name: 'robot' }), false, 3000)
    expect(t.get(id(3))?.name).toBe(`robot (${id(3).slice(-8)})`)
  })
})
