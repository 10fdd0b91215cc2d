import { describe, expect, it } from 'vitest'
import type { DaemonEvents, PeerInfo } from '../../src/daemon/api-types.ts'
import { reportStatusToSystemd, statusLine } from '../../src/daemon/notify-status.ts'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('reportStatusToSystemd', () => {
  it('reports the counts now and once per burst of peer changes, until unsubscribed', async () => {
    const events = new TypedEmitter<DaemonEvents>()
    const counts = { peers: 0, sessions: 0 }
    const sent: string[] = []
    const stop = reportStatusToSystemd({ events, status: () => counts }, { status: async text => { sent.push(text) } })
    expect(sent).toEqual(['peers 0, sessions 0'])

    const peer = { peerId: '12D3KooWfake' } as unknown as PeerInfo
    events.emit('peer:discovered', peer)
    counts.peers = 1
    events.emit('peer:discovered', peer)
    counts.peers = 2 // counted after the emitters are done
    await tick()
    expect(sent).toEqual(['peers 0, sessions 0', 'peers 2, sessions 0'])

    stop()
    counts.peers = 1
    events.emit('peer:lost', peer)
    await tick()
    expect(sent).toHaveLength(2)
    expect(statusLine({ peers: 3, sessions: 1 })).toBe('peers 3, sessions 1')
  })
})
