import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import nodeDataChannel from 'node-datachannel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SIGNAL_PROTOCOL } from '../../src/signalling/signal-messages.ts'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const rtc = { bindAddress: '127.0.0.1' }
let a: EdgedProcess, b: EdgedProcess
let client: Libp2p
let target: string

beforeAll(async () => {
  a = await startEdged({ name: 'alpha', config: { rtc } })
  const address = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses[0] as string
  b = await startEdged({ name: 'bravo', config: { rtc, swarm: { bootstrap: [address] } } })
  target = address
  client = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  await waitFor('A and B connected', async () => (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.state === 'connected'))
})
afterAll(async () => {
  await client?.stop()
  await Promise.all([a, b].map(async d => { await d?.cleanup() }))
})

/** Open a signal stream to A, write raw frames, read the reply (null when the stream just closed). */
async function exchange (frames: Uint8Array[]): Promise<any> {
  const stream = await client.dialProtocol(multiaddr(target), SIGNAL_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 1024 * 1024 })
  for (const frame of frames) await lp.write(frame)
  try {
    const reply = await lp.read({ signal: AbortSignal.timeout(5000) })
    return JSON.parse(new TextDecoder().decode(reply.subarray()))
  } catch {
    return null
  } finally {
    await stream.close().catch(() => {})
  }
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v))

async function expectABUnaffected (): Promise<void> {
  const sessions = (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions
  expect(sessions.find((s: any) => s.peer === b.peerId)?.state).toBe('connected')
  expect(a.proc.exitCode).toBeNull()
}

describe('hostile signalling from a hand-written libp2p client', () => {
  it('garbage gets a malformed error', async () => {
    const reply = await exchange([new Uint8Array([0xff, 0xfe, 0x00, 0x41])])
    expect(reply).toMatchObject({ type: 'error', code: 'malformed' })
    await expectABUnaffected()
  })

  it('a schema violation names the field', async () => {
    const reply = await exchange([json({ type: 'offer', session: 'short', profile: 'webrtc', sdp: 'x' })])
    expect(reply.code).toBe('malformed')
    expect(reply.message).toMatch(/session/)
  })

  it('an oversized message gets a too-large error', async () => {
    const reply = await exchange([new Uint8Array(300 * 1024).fill(0x20)])
    expect(reply).toMatchObject({ type: 'error', code: 'too-large' })
    await expectABUnaffected()
  })

  it('a candidate before any offer is out of order', async () => {
    const reply = await exchange([json({ type: 'candidate', session: 'abcdefgh12', candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' })])
    expect(reply).toMatchObject({ type: 'error', code: 'out-of-order' })
    await expectABUnaffected()
  })

  it('an offer of another stack profile is refused as a mismatch', async () => {
    const reply = await exchange([json({ type: 'offer', session: 'abcdefgh12', profile: 'data', sdp: 'v=0\r\n' })])
    expect(reply).toMatchObject({ type: 'error', code: 'profile-mismatch' })
  })

  it('an absurd SDP is refused with a clear error', async () => {
    const sdp = 'v=0\r\n' + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n'.repeat(1000)
    const reply = await exchange([json({ type: 'offer', session: 'abcdefgh12', profile: 'webrtc', sdp: sdp.slice(0, 60_000) })])
    expect(reply.type).toBe('error')
    expect(['malformed', 'too-large']).toContain(reply.code)
    await expectABUnaffected()
  })

  it('an offer whose fingerprint is not the certificate used never connects', async () => {
    const pc = new nodeDataChannel.PeerConnection('hostile', { iceServers: [], bindAddress: '127.0.0.1' })
    try {
      const offer = await new Promise<string>(resolve => {
        pc.onLocalDescription(sdp => { resolve(sdp) })
        pc.createDataChannel('control')
      })
      const forged = offer.replace(/a=fingerprint:sha-256 [0-9A-F:]+/, 'a=fingerprint:sha-256 ' + Array(32).fill('AB').join(':'))
      const stream = await client.dialProtocol(multiaddr(target), SIGNAL_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(json({ type: 'offer', session: 'forged-session-1', profile: 'webrtc', sdp: forged }))
      const answer = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray()))
      expect(answer.type).toBe('answer')
      pc.setRemoteDescription(answer.sdp, 'answer')
      pc.onLocalCandidate((candidate, mid) => { void lp.write(json({ type: 'candidate', session: 'forged-session-1', candidate, mid })).catch(() => {}) })
      // A must never report this peer connected.
      const clientId = client.peerId.toString()
      for (let i = 0; i < 30; i++) {
        const s = (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.find((x: any) => x.peer === clientId)
        expect(s?.state).not.toBe('connected')
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      await stream.close().catch(() => {})
    } finally {
      pc.close()
    }
    await expectABUnaffected()
  })
})
