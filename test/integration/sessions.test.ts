import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'
import { makeIdentity } from '../helpers/identity.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const run = promisify(execFile)
const rtc = { bindAddress: '127.0.0.1', channels: { control: { ordered: true }, telemetry: { ordered: false, maxRetransmits: 0 } } }

async function sessionsOf (d: EdgedProcess): Promise<any[]> {
  return (await unixRequest(d.socket, 'GET', '/v1/sessions')).body.sessions
}

async function connectedPeers (d: EdgedProcess): Promise<string[]> {
  return (await sessionsOf(d)).filter(s => s.state === 'connected').map(s => s.peer).sort()
}

async function expectMesh (daemons: EdgedProcess[], timeoutMs = 15_000): Promise<void> {
  for (const d of daemons) {
    const others = daemons.filter(o => o !== d).map(o => o.peerId).sort()
    await waitFor(`${d.name} connected to ${others.length} peers`, async () => {
      const connected = await connectedPeers(d)
      return others.every(o => connected.includes(o))
    }, timeoutMs, 100)
  }
}

describe('sessions between three daemons', () => {
  let a: EdgedProcess, b: EdgedProcess, c: EdgedProcess
  let config: Record<string, any>
  const extra: EdgedProcess[] = []

  beforeAll(async () => {
    a = await startEdged({ name: 'alpha', config: { rtc, swarm: { listen: ['/ip4/127.0.0.1/tcp/0'] } } })
    const status = (await unixRequest(a.socket, 'GET', '/v1/status')).body
    config = { rtc, swarm: { bootstrap: [status.addresses[0]] } }
    ;[b, c] = await Promise.all([startEdged({ name: 'bravo', config }), startEdged({ name: 'charlie', config })])
  })
  afterEach(async () => { await Promise.all(extra.splice(0).map(async d => { await d.cleanup() })) })
  afterAll(async () => { await Promise.all([a, b, c].map(async d => { await d?.cleanup() })) })

  it('auto-connect into a full mesh, each session showing state, profile, pair, RTT and bytes', async () => {
    await expectMesh([a, b, c])
    const s = (await sessionsOf(a)).find(x => x.peer === b.peerId)
    expect(s).toMatchObject({ state: 'connected', profile: 'webrtc', name: 'bravo' })
    expect(s.role).toBe(a.peerId < b.peerId ? 'offerer' : 'answerer')
    expect(s.pair.local.type).toBe('host')
    expect(s.pair.remote.address).toBe('127.0.0.1')
    expect(typeof s.bytesSent).toBe('number')
    expect(s.channels.map((ch: any) => ch.label).sort()).toEqual(['control', 'telemetry'])
    const one = await unixRequest(a.socket, 'GET', `/v1/sessions/${c.peerId}`)
    expect(one.body.peer).toBe(c.peerId)
  })

  it('carries 10,000 messages each way, complete and in order, between local programs', async () => {
    await expectMesh([a, b])
    const onA = await openChannelSocket(a.socket, b.peerId, 'control')
    const onB = await openChannelSocket(b.socket, a.peerId, 'control')
    const N = 10_000
    const gotAtB = collect(onB, N)
    const gotAtA = collect(onA, N)
    for (let i = 0; i < N; i++) {
      onA.send(`a→b ${i}`)
      onB.send(`b→a ${i}`)
    }
    const [atB, atA] = await Promise.all([gotAtB, gotAtA])
    expect(atB).toEqual(Array.from({ length: N }, (_, i) => `a→b ${i}`))
    expect(atA).toEqual(Array.from({ length: N }, (_, i) => `b→a ${i}`))
    const traffic = (await sessionsOf(a)).find(s => s.peer === b.peerId)
    expect(traffic.bytesSent).toBeGreaterThan(N * 8)
    expect(traffic.bytesReceived).toBeGreaterThan(N * 8)
    expect(traffic.channels.find((ch: any) => ch.label === 'control').messagesSent).toBeGreaterThanOrEqual(N)
    // Binary stays binary.
    const bin = collect(onB, 1)
    onA.send(Buffer.from([1, 2, 3]))
    expect(await bin).toEqual(['<binary 3>'])
    onA.close()
    onB.close()
  })

  it('delivers on a lossy channel', async () => {
    const onA = await openChannelSocket(a.socket, c.peerId, 'telemetry')
    const onC = await openChannelSocket(c.socket, a.peerId, 'telemetry')
    const got = collect(onC, 50, 10_000)
    for (let i = 0; i < 100; i++) onA.send(JSON.stringify({ i }))
    expect((await got).length).toBeGreaterThanOrEqual(50)
    onA.close()
    onC.close()
  })

  it('opens a channel on demand and sends one message by POST', async () => {
    const onB = await openChannelSocket(b.socket, c.peerId, 'adhoc', '?ordered=false&maxPacketLifeTime=200')
    const got = collect(onB, 1)
    await waitFor('adhoc channel at C', async () => (await sessionsOf(c)).find(s => s.peer === b.peerId)?.channels.some((ch: any) => ch.label === 'adhoc' && ch.open))
    const res = await unixRequest(c.socket, 'POST', `/v1/channels/${b.peerId}/adhoc`, { text: 'posted' })
    expect(res.status).toBe(202)
    expect(await got).toEqual(['posted'])
    onB.close()
    const bad = await unixRequest(c.socket, 'POST', `/v1/channels/${b.peerId}/adhoc`, { text: 1 })
    expect(bad.status).toBe(400)
    const nobody = await unixRequest(c.socket, 'POST', '/v1/channels/12D3KooWNobodyNobodyNobodyNobodyNobodyNobodyNobody1/control', { text: 'x' })
    expect(nobody.status).toBe(404)
  })

  it('edgectl sessions, send and listen work between daemons', async () => {
    await expectMesh([a, b])
    const table = await run(EDGECTL, ['--socket', a.socket, 'sessions'])
    expect(table.stdout).toContain(b.peerId)
    expect(table.stdout).toContain('connected')
    const listener = spawn(EDGECTL, ['--socket', b.socket, 'listen', '--json'])
    let out = ''
    listener.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    await new Promise(resolve => setTimeout(resolve, 800))
    await run(EDGECTL, ['--socket', a.socket, 'send', b.peerId, 'hello from edgectl'])
    await waitFor('listen to print the message', () => out.includes('hello from edgectl'), 10_000)
    expect(JSON.parse(out.trim().split('\n').at(-1) as string)).toMatchObject({ peer: a.peerId, channel: 'control', text: 'hello from edgectl' })
    listener.kill('SIGINT')
    expect(await new Promise(resolve => listener.once('exit', resolve))).toBe(0)
  })

  it('disconnect and connect by hand', async () => {
    await expectMesh([a, b, c])
    const del = await unixRequest(a.socket, 'DELETE', `/v1/sessions/${c.peerId}`)
    expect(del.status).toBe(204)
    await waitFor('A without C', async () => !(await connectedPeers(a)).includes(c.peerId))
    const post = await unixRequest(a.socket, 'POST', '/v1/sessions', { peer: c.peerId })
    expect(post.status).toBe(202)
    await waitFor('A with C again', async () => (await connectedPeers(a)).includes(c.peerId))
    const bad = await unixRequest(a.socket, 'POST', '/v1/sessions', { peer: 'nope' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toMatch(/peer/)
  })

  it('a killed and restarted daemon has its sessions back within 5 s; nothing else restarts', async () => {
    await expectMesh([a, b, c])
    const before = await sessionsOf(a)
    const bToA = (await sessionsOf(b)).find(s => s.peer === a.peerId).session
    await c.stop('SIGKILL')
    c = await startEdged({ name: 'charlie', dir: c.dir, config })
    const t0 = Date.now()
    await expectMesh([a, b, c], 10_000)
    expect(Date.now() - t0).toBeLessThan(5_000)
    // A–B kept its PeerConnection.
    expect((await sessionsOf(b)).find(s => s.peer === a.peerId).session).toBe(bToA)
    expect(before.length).toBe(2)
  })

  it('a peer not on the allow list never gets a session', async () => {
    const status = (await unixRequest(a.socket, 'GET', '/v1/status')).body
    const outsider = await startEdged({ name: 'outsider', config: { rtc, swarm: { bootstrap: [status.addresses[0]] } } })
    extra.push(outsider)
    const picky = await startEdged({ name: 'picky', config: { rtc, swarm: { bootstrap: [status.addresses[0]], allow: [a.peerId, b.peerId, c.peerId] } } })
    extra.push(picky)
    await waitFor('picky connected to A, B, C', async () => (await connectedPeers(picky)).length === 3, 15_000)
    await new Promise(resolve => setTimeout(resolve, 2000))
    expect(await connectedPeers(picky)).not.toContain(outsider.peerId)
    expect(await connectedPeers(outsider)).not.toContain(picky.peerId)
    const refused = await unixRequest(picky.socket, 'POST', '/v1/sessions', { peer: outsider.peerId })
    expect(refused.status).toBe(409)
  })
})

describe('the session limit, told in presence', () => {
  const daemons: EdgedProcess[] = []
  const temps: Array<() => Promise<void>> = []
  afterAll(async () => {
    await Promise.all(daemons.map(async d => { await d.cleanup() }))
    await Promise.all(temps.map(async t => { await t() }))
  })

  it('a full daemon says so, auto-connecting peers do not offer to it, and a freed slot is taken', async () => {
    const dirs = await Promise.all([0, 1, 2].map(async () => await makeTempDir('edged-limit-')))
    temps.push(...dirs.map(d => d.cleanup))
    const ids = await Promise.all(dirs.map(async d => await makeIdentity(d.dir)))
    // The offerer of a pair is the lower peer id: zulu gets the lowest, so it would offer to both.
    const order = [0, 1, 2].sort((i, j) => ids[i] < ids[j] ? -1 : 1)
    const [zDir, xDir, yDir] = order.map(i => dirs[i].dir)
    const limited = (bootstrap: string[]): Record<string, any> => ({ rtc, swarm: { maxSessions: 1, bootstrap } })
    const [, idx, idy] = order.map(i => ids[i])
    const [x, y] = await startEdgedPair({ name: 'xray', dir: xDir, peerId: idx, config: limited([]) }, { name: 'yankee', dir: yDir, peerId: idy, config: limited([]) })
    daemons.push(x, y)
    const seed = [(await unixRequest(x.socket, 'GET', '/v1/status')).body.addresses[0] as string]
    await waitFor('xray and yankee in a session', async () => (await connectedPeers(x)).includes(y.peerId), 15_000)

    const z = await startEdged({ name: 'zulu', dir: zDir, config: limited(seed) })
    daemons.push(z)
    const peerOf = async (d: EdgedProcess, peer: string): Promise<any> => (await unixRequest(d.socket, 'GET', `/v1/peers/${peer}`)).body
    await waitFor('zulu to see both full', async () => (await peerOf(z, x.peerId)).full === true && (await peerOf(z, y.peerId)).full === true, 10_000, 100)
    await new Promise(resolve => setTimeout(resolve, 3_000))
    // No offer went out only to be refused.
    expect((await sessionsOf(z)).filter(s => s.attempts > 0)).toEqual([])

    await x.stop()
    await waitFor('zulu and yankee in a session once yankee\'s slot is free', async () => (await connectedPeers(z)).includes(y.peerId), 15_000, 100)
    expect((await sessionsOf(z)).find(s => s.peer === y.peerId)).toMatchObject({ state: 'connected', role: 'offerer', lastError: null })
    await waitFor('zulu to see yankee full again', async () => (await peerOf(z, y.peerId)).full === true, 10_000, 100)
  })
})

describe('backpressure end to end', () => {
  it('a slow local consumer pauses the sending program instead of growing memory, and loses nothing', async () => {
    const [a, b] = await startEdgedPair({ name: 'sender', config: { rtc } }, { name: 'receiver', config: { rtc } })
    try {
      await waitFor('session', async () => (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.state === 'connected'), 15_000)
      const producer = await openChannelSocket(a.socket, b.peerId, 'control')
      const consumer = await openChannelSocket(b.socket, a.peerId, 'control')
      // The consumer stops reading: the receiving daemon's WebSocket buffer fills.
      consumer.pause()
      const chunk = 'x'.repeat(16 * 1024)
      const total = 2000 // 32 MiB
      let sent = 0
      const send = async (): Promise<void> => {
        while (sent < total) {
          // A well-behaved producer waits while its own socket buffer is full.
          if (producer.bufferedAmount > 1024 * 1024) { await new Promise(resolve => setTimeout(resolve, 5)); continue }
          producer.send(`${sent} ${chunk}`)
          sent++
        }
      }
      const sending = send()
      await new Promise(resolve => setTimeout(resolve, 3000))
      // Paused end to end: the producer could not push everything into the daemons.
      expect(sent).toBeLessThan(total)
      const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
      expect(rss(b.proc.pid as number)).toBeLessThan(400)
      const received = collect(consumer, total, 60_000)
      consumer.resume()
      const got = await received
      await sending
      expect(got.length).toBe(total)
      expect(got.every((m, i) => m.startsWith(`${i} `))).toBe(true)
      producer.close()
      consumer.close()
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()])
    }
  })
})

describe('lossy channels towards a slow consumer', () => {
  it('drop the oldest instead of buffering, and report the drops', async () => {
    const [a, b] = await startEdgedPair({ name: 'sender', config: { rtc } }, { name: 'receiver', config: { rtc } })
    try {
      await waitFor('session', async () => (await unixRequest(b.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.state === 'connected'), 15_000)
      const producer = await openChannelSocket(a.socket, b.peerId, 'telemetry')
      const consumer = await openChannelSocket(b.socket, a.peerId, 'telemetry')
      consumer.pause()
      const chunk = 'y'.repeat(8 * 1024)
      for (let i = 0; i < 3000; i++) {
        while (producer.bufferedAmount > 256 * 1024) await new Promise(resolve => setTimeout(resolve, 2))
        producer.send(chunk)
      }
      const telemetry = await waitFor('drops reported', async () => {
        const s = (await unixRequest(b.socket, 'GET', `/v1/sessions/${a.peerId}`)).body
        const ch = s.channels.find((c: any) => c.label === 'telemetry')
        return ch?.localDropped > 0 ? ch : undefined
      }, 20_000)
      expect(telemetry.localDropped).toBeGreaterThan(0)
      consumer.resume()
      producer.close()
      consumer.close()
    } finally {
      await Promise.all([a.cleanup(), b.cleanup()])
    }
  })
})
