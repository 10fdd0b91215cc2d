/**
 * WHEP in a real browser: headless Chromium opens the viewer on edged B and
 * times POST /whep → first decoded frame (getVideoPlaybackQuality), median
 * of N, for a source of peer A forwarded through B (B watches A's source and
 * passes its RTP on, no re-encoding), beside the same page pulling B's own
 * source of the same settings directly. Both sources are alwaysOn, so
 * neither figure includes an encoder start; each play is a new WHEP
 * session (and, forwarded, a new watch of A's source), alternating paths.
 */
import type { Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { startEdged, waitForPeer } from './lib/edged.ts'
import { sleep } from './lib/sleep.ts'
import { median, round } from './lib/stats.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'
import { unixJson } from './lib/unix-json.ts'

const DEFAULT_RUNS = 10
const CHROMIUM = '/usr/bin/chromium'
const SOURCE = 'cam'
const CAM = { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 640, height: 480, fps: 30, alwaysOn: true }
const DIRECT = 'same page, B\'s own source of the same settings (not forwarded)'

async function timeToFirstFrame (page: Page, peer: string | null): Promise<number> {
  const ms = await page.evaluate(async ([peer, source]) => await (globalThis as any).edgeViewer.timeToFirstFrame(peer, source) as number, [peer, SOURCE] as const)
  await page.evaluate(async () => { await (globalThis as any).edgeViewer.stop() })
  return ms
}

async function run (ctx: BenchContext): Promise<Figure[]> {
  const runs = ctx.runs ?? DEFAULT_RUNS
  const rtc = { bindAddress: '127.0.0.1' }
  const a = await startEdged(ctx, { name: 'alpha', rtc, media: { sources: { [SOURCE]: CAM } } })
  const b = await startEdged(ctx, { name: 'bravo', rtc, media: { sources: { [SOURCE]: CAM } }, web: { enabled: true, listen: '127.0.0.1:0' }, swarm: { bootstrap: [a.addresses[0]] } })
  await waitForPeer(b, a.peerId)
  const web = (await unixJson(b.socket, 'GET', '/v1/status')).body.web as string
  const profile = await ctx.tempDir('chromium-')
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      '--autoplay-policy=no-user-gesture-required'
    ]
  })
  try {
    const page = await browser.newPage()
    await page.goto(`http://${web}/`)
    await page.waitForFunction((peer) => (globalThis as any).edgeViewer.swarm?.peers.some((p: any) => p.peerId === peer && p.sources.length > 0), a.peerId, { timeout: 20_000 })
    // One of each first: the page's decoder and both paths warmed up.
    await timeToFirstFrame(page, a.peerId)
    await timeToFirstFrame(page, null)
    const forwarded: number[] = []
    const direct: number[] = []
    for (let i = 0; i < runs; i++) {
      forwarded.push(await timeToFirstFrame(page, a.peerId))
      await sleep(300)
      direct.push(await timeToFirstFrame(page, null))
      await sleep(300)
      ctx.log(`run ${i + 1}/${runs}: forwarded ${forwarded[i].toFixed(0)} ms, direct ${direct[i].toFixed(0)} ms`)
    }
    return [{
      name: 'WHEP POST → first decoded frame in Chromium, peer\'s source forwarded (median)',
      value: round(median(forwarded), 1),
      unit: 'ms',
      baseline: DIRECT,
      baselineValue: round(median(direct), 1),
      samples: forwarded.map(v => round(v, 1)),
      baselineSamples: direct.map(v => round(v, 1))
    }]
  } finally {
    await browser.close().catch(() => {})
  }
}

export const benchmark: Benchmark = {
  name: 'web-whep',
  description: 'WHEP POST → first decoded frame in Chromium, forwarded peer source vs local source',
  run
}
