import { waitFor, type EdgedProcess } from './edged-process.ts'
import { inNetns, iptablesIn, type NetnsSet } from './netns-lab.ts'
import { startLinkedPair } from './netns-pair.ts'
import { unixRequest } from './unix-http.ts'

/**
 * Issue 17's lab: two daemons in namespaces, alpha's egress (its eth0) shaped
 * by a token bucket, alpha serving a 640×480 30 fps H.264 test source at
 * 2 Mbit/s, adaptive (`video`) and pinned (`fixed`, today's behaviour).
 * Shared by test/e2e/adaptive-video.test.ts and bench/adaptive.bench.ts.
 */
export const ADAPTIVE_SOURCE = 'video'
export const FIXED_SOURCE = 'fixed'
export const SOURCE_KBPS = 2000

function source (pattern: string, adaptive: boolean): Record<string, unknown> {
  return { kind: 'video', pipeline: `videotestsrc is-live=true pattern=${pattern}`, codec: 'h264', encoder: 'x264enc', width: 640, height: 480, fps: 30, bitrate: SOURCE_KBPS, adaptive }
}

export async function startAdaptiveLab (set: NetnsSet, tag: string, addrs: readonly [string, string], pattern = 'snow'): Promise<{ ns: [string, string], a: EdgedProcess, b: EdgedProcess }> {
  return await startLinkedPair(set, tag, addrs, {
    media: { sources: { [ADAPTIVE_SOURCE]: source(pattern, true), [FIXED_SOURCE]: source(pattern, false) } }
  })
}

/** Shape `ns`'s eth0 egress to `mbit` (tbf as in issue 17); `replace` works whether one is there or not. */
export function shapeEgress (ns: string, mbit: number): void {
  inNetns(ns, 'tc', ['qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '16kb', 'latency', '200ms'])
}

/** Takes `ns`'s eth0 shaping off (no rate limit); fine when there is none. */
export function unshapeEgress (ns: string): void {
  try { inNetns(ns, 'tc', ['qdisc', 'del', 'dev', 'eth0', 'root']) } catch {}
}

export interface RandomDrop {
  /** Packets the rule has dropped so far. */
  dropped: () => number
  remove: () => void
}

/**
 * Drops `probability` of the UDP that reaches `ns` on eth0 at random (issue
 * 17's `iptables -m statistic`): loss on the path, not congestion. On the
 * receiving side, not the sender's OUTPUT: a packet dropped there fails the
 * sender's sendto() (EPERM), which is a local send error, not path loss.
 * The signalling (TCP) is left alone.
 */
export function dropIncomingRandomly (ns: string, probability: number): RandomDrop {
  const rule = ['INPUT', '-i', 'eth0', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP']
  iptablesIn(ns, ['-A', ...rule])
  return {
    dropped: () => {
      const line = inNetns(ns, 'iptables', ['-w', '-L', 'INPUT', '-v', '-n', '-x']).split('\n').find(l => l.includes('statistic'))
      return line === undefined ? 0 : Number(line.trim().split(/\s+/)[0])
    },
    remove: () => { iptablesIn(ns, ['-D', ...rule]) }
  }
}

export interface WatchSecond {
  /** Seconds since measuring began (end of this second). */
  t: number
  fps: number
  kbps: number
  /** The sender's view of this viewer at the end of the second. */
  estimateKbps: number | null
  targetKbps: number | null
  queueingDelayMs: number | null
  rttMs: number | null
  source: string | null
  lossFraction: number | null
  /** NACKed packets resent and skipped (over the repair budget) so far. */
  retransmitted: number | null
  retransmitsSkipped: number | null
}

/** Starts `b` watching `a`'s `source` with the count sink; resolves to the watch id once frames decode. */
export async function startCountWatch (b: EdgedProcess, a: EdgedProcess, source: string): Promise<string> {
  const res = await unixRequest(b.socket, 'POST', '/v1/watch', { peer: a.peerId, source, sink: 'count' })
  if (res.status >= 300) throw new Error(`watch ${source}: ${res.status} ${JSON.stringify(res.body)}`)
  const id = res.body.id as string
  await waitFor(`${source} decoding`, async () => (await watchStats(b, id))?.framesDecoded > 0, 20_000, 200)
  return id
}

export async function stopWatch (b: EdgedProcess, id: string): Promise<void> {
  await unixRequest(b.socket, 'DELETE', `/v1/watch/${id}`)
}

async function watchStats (b: EdgedProcess, id: string): Promise<any> {
  const { body } = await unixRequest(b.socket, 'GET', '/v1/watch')
  return (body.watches as any[]).find(w => w.id === id)?.stats
}

async function viewerOf (a: EdgedProcess, source: string): Promise<any> {
  const { body } = await unixRequest(a.socket, 'GET', '/v1/sources')
  return (body.viewers as any[]).find(v => v.source === source)
}

/**
 * Per-second figures of watch `id` for `seconds` s: decoded frames and
 * bytes received that second (from the viewer's counters, read every
 * second and divided by the time that passed), and the sender's estimate.
 * `at` runs once, at the start of the second it names.
 */
export async function measureWatch (a: EdgedProcess, b: EdgedProcess, id: string, source: string, seconds: number, at: Record<number, () => void> = {}): Promise<WatchSecond[]> {
  const out: WatchSecond[] = []
  const start = performance.now()
  let last = { at: start, stats: await watchStats(b, id) }
  for (let s = 1; s <= seconds; s++) {
    at[s - 1]?.()
    const due = start + s * 1000
    await new Promise(resolve => setTimeout(resolve, Math.max(0, due - performance.now())))
    const [stats, viewer] = await Promise.all([watchStats(b, id), viewerOf(a, source)])
    const now = performance.now()
    const dt = (now - last.at) / 1000
    const c = viewer?.congestion ?? null
    out.push({
      t: s,
      fps: (stats.framesDecoded - last.stats.framesDecoded) / dt,
      kbps: (stats.bytes - last.stats.bytes) * 8 / 1000 / dt,
      estimateKbps: c?.estimateBps == null ? null : c.estimateBps / 1000,
      targetKbps: c?.targetKbps ?? null,
      queueingDelayMs: c?.queueingDelayMs ?? null,
      rttMs: c?.rttMs ?? null,
      source: c?.source ?? null,
      lossFraction: c?.lossFraction ?? null,
      retransmitted: c?.retransmitted ?? null,
      retransmitsSkipped: c?.retransmitsSkipped ?? null
    })
    last = { at: now, stats }
  }
  return out
}

/**
 * Seconds from the end of second `fromS` to the end of the first later second
 * whose delivered rate reaches `kbps` and stays there the second after (one
 * second alone may be a key frame's spike); undefined if none does.
 */
export function secondsToReach (seconds: WatchSecond[], fromS: number, kbps: number): number | undefined {
  const after = seconds.filter(s => s.t > fromS)
  const i = after.findIndex((s, j) => s.kbps >= kbps && (after[j + 1] === undefined || after[j + 1].kbps >= kbps))
  return i < 0 ? undefined : after[i].t - fromS
}

export function formatSeconds (seconds: WatchSecond[]): string {
  const r = (x: number | null): string => x === null ? '-' : x.toFixed(0)
  return seconds.map(s => `${s.t}s fps=${r(s.fps)} kbps=${r(s.kbps)} est=${r(s.estimateKbps)} target=${r(s.targetKbps)} qdelay=${r(s.queueingDelayMs)} rtt=${r(s.rttMs)} loss=${s.lossFraction === null ? '-' : s.lossFraction.toFixed(3)} resent=${r(s.retransmitted)} skipped=${r(s.retransmitsSkipped)} ${s.source ?? ''}`).join('\n')
}
