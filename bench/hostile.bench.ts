import { malformedHttp, p99, pipelinedMetrics, probeControlSocket, rssOf, slowHeaders, websocketLabelFlood } from '../test/helpers/http-attacks.ts'
import { sessionWith, startEdged } from './lib/edged.ts'
import { sleep } from './lib/sleep.ts'
import { round } from './lib/stats.ts'
import { unixJson } from './lib/unix-json.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

/** RSS is compared with its level before the attack this long after it ends. */
const RECOVERY_MS = 20_000
/** An attack (or the quiet window beside it) lasts at least this long, for enough probes. */
const MIN_WINDOW_MS = 3_000
const BASELINE = 'same daemon, unattacked, same run'

interface Window { peak: number, recovered: number, p99: number }

/**
 * The daemon's RSS and control-socket latency while `attack` runs (or, with
 * no attack, over a quiet window as long): peak / before, RSS RECOVERY_MS
 * after / before, and the p99 of GET /v1/status every 50 ms.
 */
async function measure (pid: number, socket: string, attack: (() => Promise<unknown>) | undefined, quietMs: number): Promise<Window & { ms: number }> {
  const before = rssOf(pid)
  let peak = before
  const sampler = setInterval(() => { peak = Math.max(peak, rssOf(pid)) }, 100)
  const probing = probeControlSocket(socket)
  const t0 = performance.now()
  if (attack !== undefined) await attack()
  while (performance.now() - t0 < Math.max(MIN_WINDOW_MS, quietMs)) await sleep(100)
  const ms = performance.now() - t0
  const latencies = await probing.stop()
  clearInterval(sampler)
  peak = Math.max(peak, rssOf(pid))
  await sleep(RECOVERY_MS)
  return { peak: peak / before, recovered: rssOf(pid) / before, p99: p99(latencies), ms }
}

export const benchmark: Benchmark = {
  name: 'hostile',
  description: 'issue 21: per attack class on the control socket and web listener, RSS peak and recovery and control-socket p99, beside the same daemon unattacked',
  async run (ctx: BenchContext): Promise<Figure[]> {
    const rtc = { bindAddress: '127.0.0.1' }
    const victim = await startEdged(ctx, { name: 'victim', rtc, web: { enabled: true, listen: '127.0.0.1:0' } })
    const honest = await startEdged(ctx, { name: 'honest', rtc, swarm: { bootstrap: [victim.addresses[0]] } })
    const status = (await unixJson(victim.socket, 'GET', '/v1/status')).body
    const pid = status.pid as number
    const web = status.web as string
    const deadline = performance.now() + 30_000
    while ((await sessionWith(victim, honest.peerId))?.state !== 'connected') {
      if (performance.now() > deadline) throw new Error('no session between victim and honest in 30 s')
      await sleep(200)
    }
    const attacks: Array<[string, () => Promise<unknown>]> = [
      ['websocket labels (1,200 at once)', async () => await websocketLabelFlood(victim.socket, honest.peerId, 1200)],
      ['malformed HTTP (1,000)', async () => await malformedHttp(victim.socket, web)],
      ['slow headers (1,000 a listener)', async () => await slowHeaders(victim.socket, web)],
      ['pipelined /metrics (10 × 100)', async () => await pipelinedMetrics(web)]
    ]
    const figures: Figure[] = []
    for (const [name, attack] of attacks) {
      ctx.log(`${name}: attacked`)
      const hit = await measure(pid, victim.socket, attack, 0)
      ctx.log(`${name}: unattacked, ${(hit.ms / 1000).toFixed(1)} s`)
      const quiet = await measure(pid, victim.socket, undefined, hit.ms)
      figures.push(
        { name: `${name}: RSS peak / before`, value: round(hit.peak), unit: '×', baseline: BASELINE, baselineValue: round(quiet.peak) },
        { name: `${name}: RSS ${RECOVERY_MS / 1000} s after / before`, value: round(hit.recovered), unit: '×', baseline: BASELINE, baselineValue: round(quiet.recovered) },
        { name: `${name}: control socket p99`, value: round(hit.p99, 1), unit: 'ms', baseline: BASELINE, baselineValue: round(quiet.p99, 1) }
      )
    }
    return figures
  }
}
