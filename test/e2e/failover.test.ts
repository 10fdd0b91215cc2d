import { afterAll, describe, expect, it, onTestFailed } from 'vitest'
import type { WebSocket } from 'ws'
import { openChannelSocket } from '../helpers/channel-client.ts'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { ipIn, iptablesIn, labPrefix, netnsUnavailable, NetnsSet } from '../helpers/netns-lab.ts'
import { unixRequest } from '../helpers/unix-http.ts'

// Two robots joined by two links (two veth pairs: two "interfaces" each), with
// rtc.standby auto: a standby PeerConnection on the second link beside the
// session on the first. B watches A's video; a reliable channel carries one
// message every 10 ms from A to B. The active link is dropped (link down, then
// an iptables DROP that leaves the link up, which fails back to the first).

const skip = netnsUnavailable()
const LINKS = [
  { iface: 'eth0', a: '10.95.1.1', b: '10.95.1.2' },
  { iface: 'eth1', a: '10.95.2.1', b: '10.95.2.2' }
] as const
const video = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
/** The data path's bound (issue 18): the longest silence of the channel at a failover. */
const MAX_MESSAGE_GAP_MS = 300

async function sessionWith (d: EdgedProcess, peer: string): Promise<any> {
  const res = await unixRequest(d.socket, 'GET', `/v1/sessions/${peer}`)
  return res.status === 200 ? res.body : undefined
}

/** Connected, with a standby that is heard, on both ends. */
async function standbyReady (a: EdgedProcess, b: EdgedProcess, timeoutMs: number): Promise<any> {
  return await waitFor('a live standby on both ends', async () => {
    const [x, y] = [await sessionWith(a, b.peerId), await sessionWith(b, a.peerId)]
    return x?.state === 'connected' && x.standby?.alive === true && y?.state === 'connected' && y.standby?.alive === true ? x : undefined
  }, timeoutMs, 100)
}

/** Samples of B's decoded frames, every ~20 ms, while `on`. */
function frameSampler (b: EdgedProcess, watch: string): { stop: () => Promise<Array<[number, number]>> } {
  const samples: Array<[number, number]> = []
  let on = true
  const loop = (async () => {
    while (on) {
      const res = await unixRequest(b.socket, 'GET', `/v1/watch/${watch}`)
      samples.push([Date.now(), res.body?.stats?.framesDecoded ?? 0])
      await sleep(20)
    }
  })()
  return { stop: async () => { on = false; await loop; return samples } }
}

/** The longest time the decoded-frame count stood still. */
function longestStall (samples: Array<[number, number]>): number {
  let longest = 0
  let since = samples[0]?.[0] ?? 0
  for (let i = 1; i < samples.length; i++) {
    if (samples[i][1] !== samples[i - 1][1]) {
      longest = Math.max(longest, samples[i][0] - since)
      since = samples[i][0]
    }
  }
  return longest
}

describe.skipIf(skip !== undefined)(`failover onto a standby path on a second link (netns)${skip !== undefined ? ` — skipped: ${skip}` : ''}`, () => {
  const set = new NetnsSet()
  let ns: [string, string]
  let a: EdgedProcess, b: EdgedProcess
  let sender: WebSocket, receiver: WebSocket
  const arrivals: Array<[number, number]> = []
  let sent = 0
  let sendTimer: NodeJS.Timeout | undefined
  let receiverClosed = false
  let senderClosed = false
  let watch = ''

  afterAll(async () => {
    clearInterval(sendTimer)
    sender?.close()
    receiver?.close()
    await Promise.all([a?.cleanup(), b?.cleanup()])
    set.remove()
  })

  /** The link A's session with B runs on now (its pair's local address). */
  async function activeLink (): Promise<typeof LINKS[number]> {
    const info = await sessionWith(a, b.peerId)
    const link = LINKS.find(l => l.a === info?.pair?.local.address)
    if (link === undefined) throw new Error(`session pair not on a test link: ${JSON.stringify(info?.pair)}`)
    return link
  }

  /** Drop `link` by `how`, wait for the failover on both ends, measure, then heal. */
  async function dropAndMeasure (how: 'down' | 'drop'): Promise<{ messageGapMs: number, frameStallMs: number, detectMs: number }> {
    const link = await activeLink()
    const failovers = [(await sessionWith(a, b.peerId)).failovers, (await sessionWith(b, a.peerId)).failovers]
    const from = arrivals.length
    const frames = frameSampler(b, watch)
    await sleep(300)
    const t0 = Date.now()
    const undo: Array<() => void> = []
    if (how === 'down') {
      ipIn(ns[0], ['link', 'set', link.iface, 'down'])
      undo.push(() => { ipIn(ns[0], ['link', 'set', link.iface, 'up']) })
    } else {
      for (const n of ns) iptablesIn(n, ['-I', 'INPUT', '-i', link.iface, '-j', 'DROP'])
      undo.push(() => { for (const n of ns) iptablesIn(n, ['-D', 'INPUT', '-i', link.iface, '-j', 'DROP']) })
    }
    try {
      await waitFor('failover on both ends', async () => {
        const [x, y] = [await sessionWith(a, b.peerId), await sessionWith(b, a.peerId)]
        return x?.failovers > failovers[0] && y?.failovers > failovers[1] && x.state === 'connected' ? true : undefined
      }, 5_000, 20)
      const detectMs = Date.now() - t0
      await sleep(1_500)
      const samples = await frames.stop()
      const window = arrivals.slice(Math.max(0, from - 1))
      let messageGapMs = 0
      for (let i = 1; i < window.length; i++) messageGapMs = Math.max(messageGapMs, window[i][0] - window[i - 1][0])
      const info = await sessionWith(a, b.peerId)
      expect(info.pair.local.address, 'A now runs on the other link').not.toBe(link.a)
      return { messageGapMs, frameStallMs: longestStall(samples), detectMs }
    } finally {
      await frames.stop()
      for (const fn of undo) fn()
    }
  }

  it('moves the channel onto the standby within 300 ms, twice (link down, then a silent DROP: fail back), losing nothing', async () => {
    onTestFailed(() => {
      const tail = (d: EdgedProcess | undefined): string => (d?.output() ?? '').split('\n').slice(-60).map(l => l.slice(0, 600)).join('\n')
      console.log(`alpha:\n${tail(a)}\nbravo:\n${tail(b)}`)
    })
    const p = labPrefix('esv')
    ns = [set.add(`${p}-a`), set.add(`${p}-b`)]
    for (const l of LINKS) set.link(ns[0], l.iface, `${l.a}/24`, ns[1], l.iface, `${l.b}/24`)
    const rtc = { standby: 'auto', channels: { chat: { ordered: true } } }
    a = await startEdged({ name: 'alpha', netns: ns[0], config: { swarm: { listen: ['/ip4/0.0.0.0/tcp/0'] }, rtc, media: { sources: { cam: video } } } })
    const port = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses
      .map((x: string) => /\/ip4\/10\.95\.1\.1\/tcp\/(\d+)/.exec(x)?.[1]).find(Boolean)
    b = await startEdged({ name: 'bravo', netns: ns[1], config: { swarm: { listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [`/ip4/${LINKS[0].a}/tcp/${port as string}/p2p/${a.peerId}`] }, rtc } })
    const first = await standbyReady(a, b, 30_000)
    expect(first.standby.pair.local.address, 'the standby is bound to the other link').not.toBe(first.pair.local.address)
    expect(LINKS.map(l => l.a)).toContain(first.standby.pair.local.address)

    watch = (await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'cam', sink: 'count' })).body.id
    await waitFor('decoding', async () => (await unixRequest(b.socket, 'GET', `/v1/watch/${watch}`)).body.stats.framesDecoded > 0, 15_000, 50)

    receiver = await openChannelSocket(b.socket, a.peerId, 'chat')
    receiver.on('message', data => { arrivals.push([Date.now(), Number(data.toString())]) })
    receiver.on('close', () => { receiverClosed = true })
    sender = await openChannelSocket(a.socket, b.peerId, 'chat')
    sender.on('close', () => { senderClosed = true })
    sendTimer = setInterval(() => { sender.send(String(sent++)) }, 10)
    await waitFor('messages flowing', () => arrivals.length > 20, 5_000, 20)

    const down = await dropAndMeasure('down')
    await standbyReady(a, b, 30_000)
    const drop = await dropAndMeasure('drop')

    clearInterval(sendTimer)
    await waitFor('every message', () => arrivals.length >= sent, 10_000, 50)
    const numbers = arrivals.map(([, n]) => n)
    expect(numbers.length).toBe(sent)
    expect(numbers.every((n, i) => n === i), 'once each, in order').toBe(true)
    expect(receiverClosed || senderClosed, 'the programs\' WebSockets stayed open').toBe(false)
    const keyFrameRequests = (await unixRequest(b.socket, 'GET', `/v1/watch/${watch}`)).body.stats.keyFrameRequests
    const metrics = await sessionWith(b, a.peerId)
    console.log(`failover: link down ${JSON.stringify(down)}; DROP (fail back) ${JSON.stringify(drop)}; messages ${sent}; keyFrameRequests ${keyFrameRequests as number}; failovers ${metrics.failovers as number}`)
    expect(down.messageGapMs).toBeLessThanOrEqual(MAX_MESSAGE_GAP_MS)
    expect(drop.messageGapMs).toBeLessThanOrEqual(MAX_MESSAGE_GAP_MS)
  }, 120_000)
})
