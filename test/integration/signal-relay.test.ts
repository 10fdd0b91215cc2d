import { afterAll, describe, expect, it } from 'vitest'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const running: EdgedProcess[] = []
afterAll(async () => { await Promise.all(running.map(async d => { await d.cleanup() })) })

describe('signalling without a direct libp2p connection', () => {
  it('reaches the peer through a circuit relay on a common peer', async () => {
    const rtc = { bindAddress: '127.0.0.1' }
    const a = await startEdged({ name: 'alpha', config: { rtc } })
    running.push(a)
    const bootstrap = [(await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses[0]]
    // B and C announce an address nobody listens on: they can reach A, never each other directly.
    const hidden = { rtc, swarm: { bootstrap, announce: ['/ip4/127.0.0.1/tcp/9'] } }
    const b = await startEdged({ name: 'bravo', config: hidden })
    running.push(b)
    const c = await startEdged({ name: 'charlie', config: hidden })
    running.push(c)

    await waitFor('B and C in a WebRTC session', async () => {
      const sessions = (await unixRequest(b.socket, 'GET', '/v1/sessions')).body.sessions
      return sessions.find((s: any) => s.peer === c.peerId)?.state === 'connected'
    }, 30_000, 200)
    // Presence of C reaches B only through A's gossip: with the tests' 3 s expiry a busy
    // machine can drop C from B's table for a moment (the session holds meanwhile).
    const cAddresses = await waitFor('C in B\'s presence', async () => {
      const res = await unixRequest(b.socket, 'GET', `/v1/peers/${c.peerId}`)
      return res.status === 200 ? res.body.addresses as string[] : undefined
    }, 10_000, 200)
    expect(cAddresses.some(addr => addr.includes('/p2p-circuit/'))).toBe(true)
    expect(cAddresses.filter(addr => !addr.includes('/p2p-circuit')).every(addr => addr.startsWith('/ip4/127.0.0.1/tcp/9/'))).toBe(true)
  })
})
