import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { ipIn, iptablesIn, labPrefix, netnsUnavailable, NetnsSet } from '../helpers/netns-lab.ts'
import { unixRequest } from '../helpers/unix-http.ts'

// Two robots on one link (a veth between two namespaces of this test), with
// loss and partitions made by iptables inside the namespaces: there is no netem.

const skip = netnsUnavailable()
const ADDR = ['10.97.0.1', '10.97.0.2'] as const
const MOVED = '10.97.0.11'
const RENUMBERED = '10.97.0.12'
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const video = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 }

async function sessionWith (d: EdgedProcess, peer: string): Promise<any> {
  const res = await unixRequest(d.socket, 'GET', `/v1/sessions/${peer}`)
  return res.status === 200 ? res.body : undefined
}

async function connected (d: EdgedProcess, peer: string, timeoutMs: number): Promise<any> {
  return await waitFor(`${d.name} connected to ${peer}`, async () => {
    const s = await sessionWith(d, peer)
    return s?.state === 'connected' ? s : undefined
  }, timeoutMs, 100)
}

describe.skipIf(skip !== undefined)(`faults on the link between two robots (netns)${skip !== undefined ? ` — skipped: ${skip}` : ''}`, () => {
  const set = new NetnsSet()
  let ns: [string, string]
  let a: EdgedProcess, b: EdgedProcess
  const undo: Array<() => void> = []

  /**
   * Drop `rule`'s packets arriving over the link, in both namespaces, until the
   * test ends or `heal()`. Only the link: the loopback traffic inside each robot
   * (GStreamer ↔ edged) is the robot's own, not the network's.
   */
  function impair (rule: string[]): () => void {
    for (const n of ns) iptablesIn(n, ['-I', 'INPUT', '-i', 'eth0', ...rule])
    let healed = false
    const heal = (): void => {
      if (healed) return
      healed = true
      for (const n of ns) iptablesIn(n, ['-D', 'INPUT', '-i', 'eth0', ...rule])
    }
    undo.push(heal)
    return heal
  }

  /** Alpha's link address becomes `to` (put back after the test). */
  function renumberAlpha (to: string): void {
    ipIn(ns[0], ['addr', 'del', `${ADDR[0]}/24`, 'dev', 'eth0'])
    ipIn(ns[0], ['addr', 'add', `${to}/24`, 'dev', 'eth0'])
    undo.push(() => {
      ipIn(ns[0], ['addr', 'del', `${to}/24`, 'dev', 'eth0'])
      ipIn(ns[0], ['addr', 'add', `${ADDR[0]}/24`, 'dev', 'eth0'])
    })
  }

  /** Bravo's connected session with alpha, its path ending at alpha's `address`. */
  async function sessionOver (address: string): Promise<any> {
    return await waitFor(`a session over ${address}`, async () => {
      const info = await sessionWith(b, a.peerId)
      return info?.state === 'connected' && info.pair?.remote.address === address ? info : undefined
    }, 15_000, 200)
  }

  beforeAll(async () => {
    const p = labPrefix('esf')
    ns = [set.add(`${p}-a`), set.add(`${p}-b`)]
    set.link(ns[0], 'eth0', `${ADDR[0]}/24`, ns[1], 'eth0', `${ADDR[1]}/24`)
    a = await startEdged({ name: 'alpha', netns: ns[0], config: { swarm: { listen: ['/ip4/0.0.0.0/tcp/0'] }, media: { sources: { cam: video } } } })
    const port = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses
      .map((x: string) => /\/ip4\/10\.97\.0\.1\/tcp\/(\d+)/.exec(x)?.[1]).find(Boolean)
    b = await startEdged({ name: 'bravo', netns: ns[1], config: { swarm: { listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [`/ip4/${ADDR[0]}/tcp/${port as string}/p2p/${a.peerId}`] } } })
    await connected(a, b.peerId, 20_000)
  }, 60_000)
  beforeEach(() => {
    // What both daemons logged during a failed test is what tells why.
    const from = [a.printed(), b.printed()]
    onTestFailed(() => {
      for (const [i, d] of [a, b].entries()) console.log(`--- ${d.name} during the test:\n${d.outputSince(from[i]).slice(-20_000)}`)
    })
  })
  afterEach(() => { for (const heal of undo.splice(0)) heal() })
  afterAll(async () => {
    await Promise.all([a, b].map(async d => { await d?.cleanup() }))
    set.remove()
  })

  it('5 % random loss both ways: a reliable channel delivers everything, in order', async () => {
    impair(['-m', 'statistic', '--mode', 'random', '--probability', '0.05', '-j', 'DROP'])
    const onA = await openChannelSocket(a.socket, b.peerId, 'control')
    const onB = await openChannelSocket(b.socket, a.peerId, 'control')
    const N = 3_000
    const got = collect(onB, N, 60_000)
    for (let i = 0; i < N; i++) onA.send(`m ${i} ${'x'.repeat(200)}`)
    expect(await got).toEqual(Array.from({ length: N }, (_, i) => `m ${i} ${'x'.repeat(200)}`))
    onA.close()
    onB.close()
  }, 90_000)

  it('5 % random loss both ways: video keeps at least 90 % of its frames decoded', async () => {
    await connected(b, a.peerId, 10_000)
    impair(['-m', 'statistic', '--mode', 'random', '--probability', '0.05', '-j', 'DROP'])
    const w = (await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'cam', sink: 'count' })).body
    expect(w.state, JSON.stringify(w)).toBe('active')
    await waitFor('decoding', async () => (await unixRequest(b.socket, 'GET', `/v1/watch/${w.id}`)).body.stats.framesDecoded > 0, 10_000, 50)
    const src0 = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'cam').stats.frames as number
    await sleep(300)
    const dec0 = (await unixRequest(b.socket, 'GET', `/v1/watch/${w.id}`)).body.stats
    await sleep(4_700)
    const src1 = (await unixRequest(a.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'cam').stats.frames as number
    await sleep(300)
    const dec1 = (await unixRequest(b.socket, 'GET', `/v1/watch/${w.id}`)).body.stats
    const decoded = dec1.framesDecoded - dec0.framesDecoded
    const sent = src1 - src0
    console.log(`under 5 % loss: ${decoded} of ${sent} frames decoded, ${dec1.lost - dec0.lost} packets lost, ${dec1.keyFrameRequests - dec0.keyFrameRequests} key frames asked for, ${dec1.nacksSent - dec0.nacksSent} NACKs, ${dec1.retransmitsReceived - dec0.retransmitsReceived} retransmits`)
    // The loss is real (packets went missing on the link) and NACK brought most of them back.
    expect(dec1.nacksSent - dec0.nacksSent).toBeGreaterThan(0)
    expect(dec1.retransmitsReceived - dec0.retransmitsReceived).toBeGreaterThan(0)
    expect(decoded).toBeGreaterThanOrEqual(sent * 0.9)
    await unixRequest(b.socket, 'DELETE', `/v1/watch/${w.id}`)
  }, 60_000)

  it('a 10 s partition, healed: the session is back within 5 s, with no operator action', async () => {
    await connected(a, b.peerId, 10_000)
    const heal = impair(['-j', 'DROP'])
    await sleep(10_000)
    heal()
    const t0 = performance.now()
    await connected(a, b.peerId, 5_000)
    await connected(b, a.peerId, 5_000)
    console.log(`session back ${(performance.now() - t0).toFixed(0)} ms after the heal`)
    const onA = await openChannelSocket(a.socket, b.peerId, 'control')
    const onB = await openChannelSocket(b.socket, a.peerId, 'control')
    const got = collect(onB, 1, 10_000)
    onA.send('after the partition')
    expect(await got).toEqual(['after the partition'])
    onA.close()
    onB.close()
  }, 40_000)

  it('the interface down and up again: the session comes back', async () => {
    await connected(a, b.peerId, 10_000)
    ipIn(ns[0], ['link', 'set', 'eth0', 'down'])
    undo.push(() => { ipIn(ns[0], ['link', 'set', 'eth0', 'up']) })
    await sleep(3_000)
    ipIn(ns[0], ['link', 'set', 'eth0', 'up'])
    const t0 = performance.now()
    await connected(a, b.peerId, 10_000)
    await waitFor('a message gets through', async () => {
      const onB = await openChannelSocket(b.socket, a.peerId, 'control')
      try {
        const got = collect(onB, 1, 2_000)
        await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/control`, { text: 'up again' })
        return (await got)[0] === 'up again'
      } catch { return false } finally { onB.close() }
    }, 15_000, 200)
    console.log(`back ${(performance.now() - t0).toFixed(0)} ms after the link came up`)
  }, 60_000)

  it('an address change: the session is made anew on the new address', async () => {
    await connected(a, b.peerId, 10_000)
    renumberAlpha(MOVED)
    const t0 = performance.now()
    const s = await sessionOver(MOVED)
    console.log(`re-made ${(performance.now() - t0).toFixed(0)} ms after the move, pair ${s.pair.local.address} → ${s.pair.remote.address}`)
  }, 60_000)

  it('the link comes back on a new address (renumbered as it comes up): the session is made anew on it', async () => {
    await connected(a, b.peerId, 10_000)
    await connected(b, a.peerId, 10_000)
    ipIn(ns[0], ['link', 'set', 'eth0', 'down'])
    undo.push(() => { ipIn(ns[0], ['link', 'set', 'eth0', 'up']) })
    await sleep(2_000)
    // Up and renumbered at once, within one look at the addresses: the daemon sees
    // only that an address came, never that the old one (gone since the link went down) was back.
    ipIn(ns[0], ['link', 'set', 'eth0', 'up'])
    renumberAlpha(RENUMBERED)
    const t0 = performance.now()
    const s = await sessionOver(RENUMBERED)
    console.log(`re-made ${(performance.now() - t0).toFixed(0)} ms after the link came up renumbered, pair ${s.pair.local.address} → ${s.pair.remote.address}`)
  }, 60_000)
})
