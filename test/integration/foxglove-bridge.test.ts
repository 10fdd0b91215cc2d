import { spawn } from 'node:child_process'
import { FoxgloveClient, type Channel } from '@foxglove/ws-protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { decodeAnnexB } from '../helpers/h264-decode.ts'
import { gstChildren } from '../helpers/media-processes.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const rtc = { bindAddress: '127.0.0.1' }
const TOKEN = 'foxglove-test-token-0123456789'
// A key frame every 10 s: a subscriber joining mid-stream has to ask for one.
const cam = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30, keyframeInterval: 300 }

interface Frame { data: Buffer, format: string, frameId: string, keyFrame: boolean, receivedAt: number }

/** A FoxgloveClient (the protocol's own) on edged's listener, with what it was told. */
class TestClient {
  readonly ws: WebSocket
  readonly client: FoxgloveClient
  readonly channels = new Map<number, Channel>()
  readonly statuses: string[] = []
  readonly #onMessage = new Map<number, (data: ArrayBufferView) => void>()

  constructor (address: string, token: string | undefined = TOKEN) {
    this.ws = new WebSocket(`ws://${address}/${token === undefined ? '' : `?token=${token}`}`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL])
    this.client = new FoxgloveClient({ ws: this.ws as any })
    this.client.on('advertise', channels => { for (const c of channels) this.channels.set(c.id, c) })
    this.client.on('unadvertise', ids => { for (const id of ids) this.channels.delete(id) })
    this.client.on('status', s => { this.statuses.push(s.message) })
    this.client.on('message', m => { this.#onMessage.get(m.subscriptionId)?.(m.data) })
  }

  async channel (topic: string): Promise<Channel> {
    return await waitFor(`topic ${topic}`, () => [...this.channels.values()].find(c => c.topic === topic), 15_000, 50)
  }

  async subscribe (topic: string, onData: (data: ArrayBufferView) => void): Promise<number> {
    const channel = await this.channel(topic)
    const id = this.client.subscribe(channel.id)
    this.#onMessage.set(id, onData)
    return id
  }

  async video (topic: string, frames: Frame[]): Promise<number> {
    return await this.subscribe(topic, data => {
      const m = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString())
      const bytes = Buffer.from(m.data, 'base64')
      frames.push({ data: bytes, format: m.format, frameId: m.frame_id, keyFrame: hasIdr(bytes), receivedAt: Date.now() })
    })
  }

  close (): void {
    this.client.close()
  }
}

function hasIdr (annexB: Buffer): boolean {
  for (let i = 0; i + 4 < annexB.length; i++) {
    if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 0 && annexB[i + 3] === 1 && (annexB[i + 4] & 0x1f) === 5) return true
  }
  return false
}

describe('Foxglove bridge: @foxglove/ws-protocol\'s FoxgloveClient against two daemons', () => {
  let a: EdgedProcess, b: EdgedProcess
  let aPid: number
  let address: string
  const clients: TestClient[] = []
  const connect = (token?: string): TestClient => {
    const c = new TestClient(address, token)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    ;[a, b] = await startEdgedPair(
      { name: 'alpha', config: { rtc, media: { sources: { cam } } } },
      { name: 'bravo', config: { rtc, web: { enabled: false, token: TOKEN }, foxglove: { enabled: true, listen: '127.0.0.1:0' } } })
    aPid = (await unixRequest(a.socket, 'GET', '/v1/status')).body.pid
    address = (await unixRequest(b.socket, 'GET', '/v1/status')).body.foxglove
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/)
    await waitFor('a session between alpha and bravo', async () =>
      (await unixRequest(b.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.peer === a.peerId && s.state === 'connected'), 20_000)
  }, 60_000)
  afterAll(async () => {
    for (const c of clients) c.close()
    await Promise.all([a, b].map(async d => { await d?.cleanup() }))
  })

  it('refuses a client without the web token, and one that does not speak the protocol', async () => {
    const refused = new WebSocket(`ws://${address}/`, [FoxgloveClient.SUPPORTED_SUBPROTOCOL])
    const status = await new Promise<number>(resolve => {
      refused.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0) })
      refused.on('open', () => { resolve(101) })
      refused.on('error', () => {})
    })
    expect(status).toBe(401)
    const other = new WebSocket(`ws://${address}/?token=${TOKEN}`, ['not-foxglove'])
    const closed = await new Promise<number>(resolve => {
      other.on('close', code => { resolve(code) })
      other.on('error', () => {})
    })
    expect(closed).not.toBe(1000)
  })

  it('a peer\'s camera: CompressedVideo frames that GStreamer decodes, 60 or more in 3 s, the first a key frame', async () => {
    const client = connect()
    const frames: Frame[] = []
    const sub = await client.video(`/peers/${a.peerId}/video/cam`, frames)
    await waitFor('the first frame', () => frames.length > 0, 15_000, 20)
    const first = frames.length
    await sleep(3_000)
    const inWindow = frames.length - first
    client.client.unsubscribe(sub)
    console.log(`foxglove: ${inWindow} frames in 3 s, ${frames.length} in all`)
    expect(frames[0].keyFrame).toBe(true)
    expect(frames[0]).toMatchObject({ format: 'h264', frameId: 'cam' })
    const got = [...frames]
    expect(await decodeAnnexB(Buffer.concat(got.map(f => f.data)))).toBe(got.length)
    expect(inWindow).toBeGreaterThanOrEqual(60)
    // The last subscriber gone: the watch ends, and so does alpha's encoder.
    await waitFor('alpha\'s camera stopped', async () => (await unixRequest(a.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'cam').running === false, 10_000)
  }, 40_000)

  it('two clients on one source: one encoder at the source, one watch of it, each client starting at a key frame', async () => {
    const [one, two] = [connect(), connect()]
    const f1: Frame[] = []
    const f2: Frame[] = []
    await one.video(`/peers/${a.peerId}/video/cam`, f1)
    await waitFor('client one\'s first frame', () => f1.length > 0, 15_000, 20)
    await sleep(1_000)
    // Mid-GOP (a key frame every 10 s): client two's first frame is one asked for.
    await two.video(`/peers/${a.peerId}/video/cam`, f2)
    await waitFor('client two\'s first frame', () => f2.length > 0, 5_000, 20)
    await sleep(1_000)
    const sources = (await unixRequest(a.socket, 'GET', '/v1/sources')).body
    expect(sources.local.find((s: any) => s.name === 'cam')).toMatchObject({ running: true, users: 1 })
    expect(sources.viewers.filter((v: any) => v.source === 'cam')).toHaveLength(1)
    expect(gstChildren(aPid)).toHaveLength(1)
    expect(f1[0].keyFrame).toBe(true)
    expect(f2[0].keyFrame).toBe(true)
    expect(f2.length).toBeGreaterThanOrEqual(20)
    const got = [...f2]
    expect(await decodeAnnexB(Buffer.concat(got.map(f => f.data)))).toBe(got.length)
    one.close()
    two.close()
    await waitFor('alpha\'s camera stopped', async () => (await unixRequest(a.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'cam').running === false, 10_000)
  }, 40_000)

  it('this daemon\'s own source on /video/NAME (its audio is not a topic)', async () => {
    const client = connect()
    const frames: Frame[] = []
    const sub = await client.video('/video/video', frames)
    await waitFor('the first frame', () => frames.length > 0, 15_000, 20)
    await sleep(1_000)
    client.client.unsubscribe(sub)
    const got = [...frames]
    expect(got[0].keyFrame).toBe(true)
    expect(got.length).toBeGreaterThanOrEqual(20)
    expect(await decodeAnnexB(Buffer.concat(got.map(f => f.data)))).toBe(got.length)
    expect([...client.channels.values()].map(c => c.topic)).not.toContain('/video/audio')
    expect(client.channels.size).toBeGreaterThan(0)
    expect([...client.channels.values()].find(c => c.topic === '/video/video')).toMatchObject({ encoding: 'json', schemaName: 'foxglove.CompressedVideo', schemaEncoding: 'jsonschema' })
    await waitFor('bravo\'s source stopped', async () => (await unixRequest(b.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'video').running === false, 10_000)
  }, 30_000)

  it('publishing on a channel topic is a send on that channel: the peer\'s edgectl listen prints it', async () => {
    const listener = spawn(EDGECTL, ['--socket', a.socket, 'listen', '--json'])
    let out = ''
    listener.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    try {
      const client = connect()
      await client.channel(`/peers/${a.peerId}/channels/control`)
      await sleep(500)
      const json = client.client.advertise({ topic: `/peers/${a.peerId}/channels/control`, encoding: 'json', schemaName: 'edge.channel.control' })
      const raw = client.client.advertise({ topic: `/peers/${a.peerId}/channels/control/raw`, encoding: 'application/octet-stream', schemaName: '' })
      await sleep(200)
      client.client.sendMessage(json, new TextEncoder().encode(JSON.stringify({ hello: 'from foxglove' })))
      client.client.sendMessage(raw, new Uint8Array([1, 2, 3, 250]))
      await waitFor('listen to print both messages', () => out.includes('from foxglove') && out.includes('"base64"'), 10_000)
      const lines = out.trim().split('\n').map(l => JSON.parse(l))
      expect(lines).toContainEqual({ peer: b.peerId, channel: 'control', text: '{"hello":"from foxglove"}' })
      expect(lines).toContainEqual({ peer: b.peerId, channel: 'control', base64: Buffer.from([1, 2, 3, 250]).toString('base64') })
      // Nowhere to send to: a status, the daemon goes on.
      const nowhere = client.client.advertise({ topic: '/somewhere/else', encoding: 'json', schemaName: 'x' })
      client.client.sendMessage(nowhere, new TextEncoder().encode('{}'))
      await waitFor('a status about the topic', () => client.statuses.some(s => s.includes('/somewhere/else')), 5_000)
    } finally {
      listener.kill('SIGINT')
    }
  })

  it('a channel\'s messages from the peer on its topics (JSON objects as json, the rest raw), and presence', async () => {
    const client = connect()
    const json: unknown[] = []
    const raw: Buffer[] = []
    const presence: any[] = []
    await client.subscribe(`/peers/${a.peerId}/channels/control`, d => { json.push(JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString())) })
    await client.subscribe(`/peers/${a.peerId}/channels/control/raw`, d => { raw.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength)) })
    await client.subscribe('/swarm/presence', d => { presence.push(JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString())) })
    await sleep(300)
    for (const text of ['{"speed":1.5}', 'not json']) {
      expect((await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/control`, { text })).status).toBe(202)
    }
    await waitFor('both messages', () => json.length > 0 && raw.length > 0, 10_000)
    expect(json).toEqual([{ speed: 1.5 }])
    expect(raw.map(r => r.toString())).toEqual(['not json'])
    await waitFor('presence', () => presence.length > 0, 5_000)
    const p = presence.at(-1)
    expect(p.self.peerId).toBe(b.peerId)
    expect(p.peers).toContainEqual(expect.objectContaining({ peerId: a.peerId, name: 'alpha', sources: [expect.objectContaining({ name: 'cam', topic: `/peers/${a.peerId}/video/cam` })] }))
    expect(p.sessions).toContainEqual(expect.objectContaining({ peer: a.peerId, state: 'connected' }))
  })

  it('a peer that leaves takes its topics with it', async () => {
    const client = connect()
    await client.channel(`/peers/${a.peerId}/video/cam`)
    await a.stop()
    await waitFor('alpha\'s topics gone', () => ![...client.channels.values()].some(c => c.topic.startsWith(`/peers/${a.peerId}/`)), 20_000, 100)
    expect([...client.channels.values()].map(c => c.topic)).toContain('/swarm/presence')
  }, 30_000)
})
