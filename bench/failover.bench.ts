import { openChannelSocket } from './lib/channel-socket.ts'
import { sessionWith, startEdged, type EdgedDaemon } from './lib/edged.ts'
import { sleep } from './lib/sleep.ts'
import { median, round } from './lib/stats.ts'
import { unixJson } from './lib/unix-json.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { netnsUnavailable, sh } from './lib/netns.ts'

// The media gap and the message gap when the link carrying a session goes
// silent (iptables DROP of everything arriving over it, the link left up),
// with rtc.standby auto (a standby PeerConnection on a second link), beside
// the same with rtc.standby off in the same run. Two robots in network
// namespaces of this benchmark joined by two veth links; B watches A's video
// (decoded-frame count sampled every 20 ms) and A sends B one channel message
// every 10 ms. A gap over GAP_CAP_MS counts as GAP_CAP_MS (with standby off a
// silent path costs tens of seconds: issue 18 measured 40.7 s).

const DEFAULT_RUNS = 5
const SEND_EVERY_MS = 10
const GAP_CAP_MS = 15_000
const SETTLE_MS = 1_500
const LINKS = [
  { iface: 'eth0', a: '10.94.1.1', b: '10.94.1.2' },
  { iface: 'eth1', a: '10.94.2.1', b: '10.94.2.2' }
] as const
const video = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 }


async function until<T> (what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** The longest stretch without a change in `samples` ([time, value]), up to `end`. */
function longestStall (samples: Array<[number, number]>, end: number): number {
  let longest = 0
  let since = samples[0]?.[0] ?? end
  for (let i = 1; i < samples.length; i++) {
    if (samples[i][1] === samples[i - 1][1]) continue
    longest = Math.max(longest, samples[i][0] - since)
    since = samples[i][0]
  }
  return Math.max(longest, end - since)
}

interface Gaps { media: number[], messages: number[] }

/** One setting (standby auto or off): its own pair of daemons, `runs` drops of the active link. */
async function measure (ctx: BenchContext, ns: [string, string], standby: 'auto' | 'off', runs: number): Promise<Gaps> {
  const rtc = { standby, channels: { chat: { ordered: true } } }
  const listen = ['/ip4/0.0.0.0/tcp/0']
  const a = await startEdged(ctx, { name: `robot-a-${standby}`, netns: ns[0], swarm: { listen }, rtc, media: { sources: { cam: video } } })
  const port = a.addresses.map(x => /\/ip4\/10\.94\.1\.1\/tcp\/(\d+)/.exec(x)?.[1]).find(Boolean)
  const b = await startEdged(ctx, { name: `robot-b-${standby}`, netns: ns[1], swarm: { listen, bootstrap: [`/ip4/${LINKS[0].a}/tcp/${port as string}/p2p/${a.peerId}`] }, rtc })
  const ready = async (): Promise<void> => {
    await until(`${standby}: connected${standby === 'auto' ? ' with a live standby' : ''}`, async () => {
      const [x, y] = [await sessionWith(a, b.peerId), await sessionWith(b, a.peerId)]
      const ok = (s: any): boolean => s?.state === 'connected' && (standby === 'off' || s.standby?.alive === true)
      return ok(x) && ok(y) ? true : undefined
    }, 90_000)
  }
  await ready()
  const watch = (await unixJson(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source: 'cam', sink: 'count' })).body.id as string
  const frames = async (): Promise<number> => (await unixJson(b.socket, 'GET', `/v1/watch/${watch}`)).body.stats.framesDecoded as number
  await until('decoding', async () => (await frames()) > 0 ? true : undefined, 20_000)
  const gaps: Gaps = { media: [], messages: [] }
  for (let i = 0; i < runs; i++) {
    await ready()
    await until('decoding', async () => (await frames()) > 0 ? true : undefined, 20_000)
    const send = await openChannelSocket(a.socket, b.peerId, 'chat')
    const recv = await openChannelSocket(b.socket, a.peerId, 'chat')
    const arrivals: number[] = []
    recv.on('message', () => { arrivals.push(performance.now()) })
    const sender = setInterval(() => { send.send('tick') }, SEND_EVERY_MS)
    const samples: Array<[number, number]> = []
    let sampling = true
    const sampler = (async () => { while (sampling) { samples.push([performance.now(), await frames()]); await sleep(20) } })()
    const info = await sessionWith(a, b.peerId)
    const pair = info?.pair as { local: { address: string }, remote: { address: string } } | undefined
    if (pair === undefined) throw new Error(`${standby}: the session lists no selected pair`)
    // Silence the session's own pair, by address: with two links in each namespace a pair may
    // cross them (10.94.1.1 ↔ 10.94.2.2 routes out of eth1), so its interface says nothing.
    const silenced: Array<[string, string]> = [[ns[0], pair.remote.address], [ns[1], pair.local.address]]
    const rule = (op: '-I' | '-D'): void => { for (const [n, from] of silenced) sh(['ip', 'netns', 'exec', n, 'iptables', '-w', op, 'INPUT', '-s', from, '-j', 'DROP']) }
    try {
      await sleep(500)
      const t0 = performance.now()
      rule('-I')
      // Until messages and frames both flow again for a while, or the cap (each gap is capped on its own).
      await until('recovery', async () => {
        const now = performance.now()
        const messages = arrivals.length > 0 && now - arrivals[arrivals.length - 1] < 200
        const frames = now - (samples.findLast(([, n], k) => k > 0 && n !== samples[k - 1][1])?.[0] ?? 0) < 200
        return (messages && frames && now - t0 > SETTLE_MS) || now - t0 > GAP_CAP_MS ? true : undefined
      }, GAP_CAP_MS + 5_000)
      const end = performance.now()
      const after = arrivals.filter(t => t >= t0 - 100)
      // Up to `end` too: messages that stopped and never came back are one gap to the cap.
      let messageGap = end - (after.at(-1) ?? t0)
      for (let k = 1; k < after.length; k++) messageGap = Math.max(messageGap, after[k] - after[k - 1])
      gaps.messages.push(round(Math.min(messageGap, GAP_CAP_MS)))
      gaps.media.push(round(Math.min(longestStall(samples.filter(([t]) => t >= t0 - 100), end), GAP_CAP_MS)))
    } finally {
      rule('-D')
      sampling = false
      await sampler
      clearInterval(sender)
      send.close(); recv.close()
    }
    ctx.log(`failover (standby ${standby}) ${i + 1}/${runs}: message gap ${gaps.messages.at(-1) ?? '-'} ms, media gap ${gaps.media.at(-1) ?? '-'} ms`)
  }
  await unixJson(b.socket, 'DELETE', `/v1/watch/${watch}`)
  await Promise.all([a.child.stop(), b.child.stop()])
  return gaps
}

export const benchmark: Benchmark = {
  name: 'failover',
  description: 'media and message gaps when the active link goes silent, standby auto beside standby off',
  async run (ctx: BenchContext) {
    const skip = netnsUnavailable()
    if (skip !== undefined) {
      ctx.log(`failover: skipped, ${skip}`)
      return []
    }
    const runs = ctx.runs ?? DEFAULT_RUNS
    const ns: [string, string] = [`ebf${process.pid % 100000}-a`, `ebf${process.pid % 100000}-b`]
    try {
      for (const n of ns) { try { sh(['ip', 'netns', 'del', n]) } catch {} ; sh(['ip', 'netns', 'add', n]); sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']) }
      for (const l of LINKS) {
        sh(['ip', '-n', ns[0], 'link', 'add', l.iface, 'type', 'veth', 'peer', 'name', l.iface, 'netns', ns[1]])
        sh(['ip', '-n', ns[0], 'addr', 'add', `${l.a}/24`, 'dev', l.iface])
        sh(['ip', '-n', ns[1], 'addr', 'add', `${l.b}/24`, 'dev', l.iface])
        for (const n of ns) sh(['ip', '-n', n, 'link', 'set', l.iface, 'up'])
      }
      const on = await measure(ctx, ns, 'auto', runs)
      const off = await measure(ctx, ns, 'off', runs)
      const beside = (name: string, samples: number[], baselineSamples: number[]): Figure => ({
        name,
        value: round(median(samples)),
        unit: 'ms',
        baseline: `rtc.standby off (capped at ${GAP_CAP_MS / 1000} s)`,
        baselineValue: round(median(baselineSamples)),
        samples,
        baselineSamples
      })
      return [
        beside(`message gap at a silent link drop, standby auto, median of ${runs}`, on.messages, off.messages),
        beside(`media gap (decoded frames) at a silent link drop, standby auto, median of ${runs}`, on.media, off.media)
      ]
    } finally {
      for (const n of ns) { try { sh(['ip', 'netns', 'del', n]) } catch {} }
    }
  }
}
