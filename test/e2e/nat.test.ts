import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { startCoturn, type Coturn } from '../helpers/netns-coturn.ts'
import { createNatLab, iptablesIn, netnsUnavailable, type NatLab } from '../helpers/netns-lab.ts'
import { unixRequest } from '../helpers/unix-http.ts'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'

// Two robots behind two MASQUERADE routers, with coturn and a bootstrap
// daemon on the "internet" between them (all inside namespaces of this test).

const skip = netnsUnavailable()
const SECRET = 'turn-rest-secret-of-this-test'

async function sessionWith (d: EdgedProcess, peer: string): Promise<any> {
  const res = await unixRequest(d.socket, 'GET', `/v1/sessions/${peer}`)
  return res.status === 200 ? res.body : undefined
}

async function connectedPair (d: EdgedProcess, peer: string, timeoutMs = 30_000): Promise<any> {
  return await waitFor(`${d.name} connected to ${peer}`, async () => {
    const s = await sessionWith(d, peer)
    return s?.state === 'connected' && s.pair !== null ? s.pair : undefined
  }, timeoutMs, 200)
}

async function exchange (a: EdgedProcess, b: EdgedProcess): Promise<void> {
  const onA = await openChannelSocket(a.socket, b.peerId, 'control')
  const onB = await openChannelSocket(b.socket, a.peerId, 'control')
  const got = collect(onB, 3)
  for (const m of ['one', 'two', 'three']) onA.send(m)
  expect(await got).toEqual(['one', 'two', 'three'])
  onA.close()
  onB.close()
}

describe.skipIf(skip !== undefined)(`NAT traversal (netns)${skip !== undefined ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: NatLab
  let turn: Coturn
  let hub: EdgedProcess
  const robots: EdgedProcess[] = []

  const robotConfig = (bootstrap: string, iceServers: unknown[]): Record<string, any> => ({
    swarm: { listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [bootstrap] },
    rtc: { iceServers }
  })

  beforeAll(async () => {
    lab = createNatLab('esn')
    turn = await startCoturn(lab.pub, lab.pubAddr, SECRET)
    hub = await startEdged({ name: 'hub', netns: lab.pub, config: { swarm: { listen: [`/ip4/${lab.pubAddr}/tcp/0`], autoconnect: false } } })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([...robots, hub].map(async d => { await d?.cleanup() }))
    await turn?.stop()
    lab?.remove()
  })

  async function startRobots (tag: string, iceServers: unknown[]): Promise<[EdgedProcess, EdgedProcess]> {
    const bootstrap = (await unixRequest(hub.socket, 'GET', '/v1/status')).body.addresses[0]
    const pair = await Promise.all([
      startEdged({ name: `${tag}-1`, netns: lab.robot1, config: robotConfig(bootstrap, iceServers) }),
      startEdged({ name: `${tag}-2`, netns: lab.robot2, config: robotConfig(bootstrap, iceServers) })
    ])
    robots.push(...pair)
    return pair
  }

  async function stopRobots (): Promise<void> {
    await Promise.all(robots.splice(0).map(async d => { await d.cleanup() }))
  }

  /** A failure with the end of coturn's log: allocations, permissions and why a session closed. */
  async function withTurnLog<T> (step: Promise<T>): Promise<T> {
    try {
      return await step
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncoturn's log ends with:\n${turn.output().split('\n').slice(-60).join('\n')}`)
    }
  }

  it('without STUN or TURN the robots cannot connect (the NATs are real)', async () => {
    const [r1, r2] = await startRobots('bare', [])
    await waitFor('robots see each other', async () => {
      const peers = (await unixRequest(r1.socket, 'GET', '/v1/peers')).body.peers
      return peers.some((p: any) => p.peerId === r2.peerId)
    }, 20_000)
    await new Promise(resolve => setTimeout(resolve, 8_000))
    expect((await sessionWith(r1, r2.peerId))?.state).not.toBe('connected')
    await stopRobots()
  }, 60_000)

  it('connect directly through STUN: a server-reflexive pair between the NATs\' public addresses', async () => {
    const [r1, r2] = await startRobots('stun', [`stun:${lab.pubAddr}:3478`])
    const pair = await connectedPair(r1, r2.peerId)
    const types = [pair.local.type, pair.remote.type]
    expect(types).not.toContain('relay')
    expect(types.some(t => t === 'srflx' || t === 'prflx')).toBe(true)
    expect(lab.natPublic).toContain(pair.remote.address)
    const back = await connectedPair(r2, r1.peerId)
    expect(lab.natPublic).toContain(back.remote.address)
    await exchange(r1, r2)
    await stopRobots()
  }, 60_000)

  it('through the TURN relay (REST credentials from the shared secret) when UDP between the NATs is dropped', async () => {
    const rules = [[lab.nat1, lab.natPublic[1]], [lab.nat2, lab.natPublic[0]]] as const
    for (const [nat, other] of rules) iptablesIn(nat, ['-I', 'FORWARD', '-p', 'udp', '-d', other, '-j', 'DROP'])
    try {
      const ice = [`stun:${lab.pubAddr}:3478`, { urls: `turn:${lab.pubAddr}:3478?transport=udp`, secret: SECRET, ttlSeconds: 600 }]
      const [r1, r2] = await startRobots('turn', ice)
      const pair = await withTurnLog(connectedPair(r1, r2.peerId, 40_000))
      const back = await withTurnLog(connectedPair(r2, r1.peerId))
      expect([pair.local.type, pair.remote.type, back.local.type, back.remote.type]).toContain('relay')
      expect([pair.local.address, pair.remote.address]).toContain(lab.pubAddr)
      await exchange(r1, r2)
      // coturn took the ephemeral `<expiry>:<peer id>` username and its HMAC.
      expect(turn.output()).toMatch(new RegExp(`user <\\d+:(${r1.peerId}|${r2.peerId})>`))
      await stopRobots()
    } finally {
      for (const [nat, other] of rules) iptablesIn(nat, ['-D', 'FORWARD', '-p', 'udp', '-d', other, '-j', 'DROP'])
    }
  }, 90_000)

  it('a wrong TURN secret gets no relay (coturn refuses the credentials)', async () => {
    const rules = [[lab.nat1, lab.natPublic[1]], [lab.nat2, lab.natPublic[0]]] as const
    for (const [nat, other] of rules) iptablesIn(nat, ['-I', 'FORWARD', '-p', 'udp', '-d', other, '-j', 'DROP'])
    try {
      const ice = [{ urls: `turn:${lab.pubAddr}:3478?transport=udp`, secret: 'not-the-secret', ttlSeconds: 600 }]
      const [r1, r2] = await startRobots('badturn', ice)
      await waitFor('robots see each other', async () => {
        const peers = (await unixRequest(r1.socket, 'GET', '/v1/peers')).body.peers
        return peers.some((p: any) => p.peerId === r2.peerId)
      }, 20_000)
      await new Promise(resolve => setTimeout(resolve, 8_000))
      expect((await sessionWith(r1, r2.peerId))?.state).not.toBe('connected')
      expect(turn.output()).toMatch(/401|wrong|Unauthorized|check_stun_auth/i)
      await stopRobots()
    } finally {
      for (const [nat, other] of rules) iptablesIn(nat, ['-D', 'FORWARD', '-p', 'udp', '-d', other, '-j', 'DROP'])
    }
  }, 60_000)
})
