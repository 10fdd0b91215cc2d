import fs from 'node:fs/promises'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts'
import { collect, openChannelSocket } from '../helpers/channel-client.ts'
import { gstChildren } from '../helpers/media-processes.ts'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { ROOT, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { parsePromText, series } from '../helpers/prom-text.ts'
import { unixRequest } from '../helpers/unix-http.ts'

/** Test artifacts (gitignored): screenshots of the viewer. */
const ARTIFACTS = path.join(ROOT, 'test-artifacts')
const rtc = { bindAddress: '127.0.0.1' }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function webOf (d: EdgedProcess): Promise<string> {
  return await waitFor(`${d.name} web address`, async () => (await unixRequest(d.socket, 'GET', '/v1/status')).body.web as string | null)
}

const decoded = async (page: Page): Promise<number> => await page.evaluate(() => (globalThis as any).edgeViewer.decodedFrames() as number)

describe('the viewer in Chromium plays a remote daemon\'s source', () => {
  let alpha: EdgedProcess, bravo: EdgedProcess
  let browser: TestBrowser
  let page: Page

  beforeAll(async () => {
    ;[alpha, bravo] = await startEdgedPair({
      name: 'alpha',
      // Its own web listener too: a browser of its own plays cam beside bravo (the router case below).
      config: { rtc, web: { enabled: true, listen: '127.0.0.1:0' }, media: { sources: { cam: { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true pattern=ball', width: 640, height: 480, fps: 30 } } } }
    }, { name: 'bravo', config: { rtc, web: { enabled: true, listen: '127.0.0.1:0' } } })
    await waitFor('bravo–alpha session', async () =>
      (await unixRequest(bravo.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.peer === alpha.peerId && s.state === 'connected'), 20_000)
    browser = await launchBrowser()
    page = await browser.page(`http://${await webOf(bravo)}/`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await Promise.all([alpha, bravo].map(async d => { await d?.cleanup() }))
  })

  it('lists the swarm\'s peers and their sources', async () => {
    await page.waitForSelector(`button[data-peer="${alpha.peerId}"][data-source="cam"]`, { timeout: 15_000 })
    const own = await page.locator('button[data-peer=""]').allTextContents()
    expect(own.some(t => t.includes('video'))).toBe(true)
  })

  it('plays alpha\'s source through bravo: ≥ 60 frames decoded in 3 s; data channels round-trip', async () => {
    await page.click(`button[data-peer="${alpha.peerId}"][data-source="cam"]`)
    await waitFor('first decoded frame', async () => await decoded(page) > 0, 15_000, 100)
    const before = await decoded(page)
    await sleep(3_000)
    const after = await decoded(page)
    console.log(`remote source in Chromium: ${after - before} frames decoded in 3 s`)
    expect(after - before).toBeGreaterThanOrEqual(60)

    // bravo forwards alpha's packets (no decoder of its own) to the browser.
    const { body } = await fetch(`http://${await webOf(bravo)}/api/browsers`).then(async r => ({ body: await r.json() as any }))
    expect(body.sessions).toHaveLength(1)
    expect(body.sessions[0]).toMatchObject({ kind: 'whep', peer: alpha.peerId, source: 'cam', state: 'connected' })
    expect(body.forwards[0]).toMatchObject({ peer: alpha.peerId, source: 'cam', sink: 'count', state: 'active' })

    // echo: answered by bravo itself.
    await page.evaluate(() => { (globalThis as any).edgeViewer.send('echo', 'ping-echo') })
    await waitFor('echo', async () => await page.evaluate(() => (globalThis as any).edgeViewer.received.some((m: any) => m.label === 'echo' && m.text === 'ping-echo')), 5_000)

    // control: a program on alpha hears the browser (via bravo's session with alpha) and answers it.
    const ws = await openChannelSocket(alpha.socket, bravo.peerId, 'control')
    const heard = collect(ws, 1, 10_000)
    await page.evaluate(() => { (globalThis as any).edgeViewer.send('control', 'hello alpha') })
    expect(await heard).toEqual(['hello alpha'])
    ws.send('hello browser')
    await waitFor('reply in the browser', async () => await page.evaluate(() => (globalThis as any).edgeViewer.received.some((m: any) => m.label === 'control' && m.text === 'hello browser')), 10_000)
    ws.close()

    await fs.mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: path.join(ARTIFACTS, 'browser-viewer.png') })
  }, 60_000)

  it('ends the forward when the browser stops', async () => {
    await page.evaluate(async () => { await (globalThis as any).edgeViewer.stop() })
    const web = await webOf(bravo)
    await waitFor('no browser sessions, no forwards', async () => {
      const body = await (await fetch(`http://${web}/api/browsers`)).json() as any
      return body.sessions.length === 0 && body.forwards.length === 0
    }, 10_000)
  })

  it('a peer and a browser watching one source: one encoder process, one producer with one key-frame policy', async () => {
    const alphaPid = (await unixRequest(alpha.socket, 'GET', '/v1/status')).body.pid as number
    const own = await browser.page(`http://${await webOf(alpha)}/`)
    await own.evaluate(async () => { await (globalThis as any).edgeViewer.play(null, 'cam', 'video') })
    await waitFor('alpha\'s browser decoding', async () => await decoded(own) > 0, 15_000, 100)
    const res = await unixRequest(bravo.socket, 'POST', '/v1/watch', { peer: alpha.peerId, source: 'cam', sink: 'count' })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    await waitFor('bravo decoding', async () => (await unixRequest(bravo.socket, 'GET', `/v1/watch/${res.body.id as string}`)).body.stats.framesDecoded > 0, 10_000, 100)

    const { body } = await unixRequest(alpha.socket, 'GET', '/v1/sources')
    expect(gstChildren(alphaPid)).toHaveLength(1)
    const cam = body.local.find((s: any) => s.name === 'cam')
    expect(cam).toMatchObject({ running: true, users: 2 })
    const producers = body.producers.filter((p: any) => p.source === 'cam')
    expect(producers).toHaveLength(1)
    const [producer] = producers
    expect(producer).toMatchObject({ peer: alpha.peerId, kind: 'source' })
    expect(producer.consumers.map((c: any) => c.kind).sort()).toEqual(['browser', 'peer'])
    expect(producer.consumers.find((c: any) => c.kind === 'peer').client).toBe(bravo.peerId)
    expect(producer.consumers.every((c: any) => c.stats?.packets > 0)).toBe(true)
    // Each consumer asked for a key frame when its track opened; every request the encoder took came through the one policy.
    expect(producer.keyFrames.sent + producer.keyFrames.merged).toBeGreaterThanOrEqual(2)
    expect(cam.stats.keyFrameRequests).toBe(producer.keyFrames.sent)

    // The browser is a consumer with the figures a peer has: listed by the control API with its
    // send track's sender figures (Chromium's receiver reports: loss and, against our sender
    // reports, the round trip), and in /metrics beside the peer's.
    const reported = await waitFor('a receiver report from Chromium with a round trip', async () => {
      const { browsers } = (await unixRequest(alpha.socket, 'GET', '/v1/sessions')).body
      const sender = browsers?.[0]?.tracks?.[0]?.sender
      return sender?.reports > 0 && sender.rttMs !== null ? browsers : undefined
    }, 5_000, 100)
    expect(reported).toHaveLength(1)
    const [player] = reported
    expect(player).toMatchObject({ kind: 'whep', peer: null, source: 'cam', state: 'connected' })
    expect(player.tracks[0]).toMatchObject({ direction: 'send', source: 'cam', congestion: null })
    const { sender } = player.tracks[0]
    console.log(`browser consumer on alpha: ${sender.packets as number} packets, ${sender.bytes as number} bytes, ${sender.reports as number} reports, RTT ${sender.rttMs as number} ms, loss ${sender.fractionLost as number}, jitter ${sender.jitterMs as number} ms, PLIs ${sender.plis as number}, NACKs ${sender.nacks as number}`)
    expect(sender.packets).toBeGreaterThan(0)
    expect(sender.bytes).toBeGreaterThan(0)
    expect(sender.fractionLost).toBeGreaterThanOrEqual(0)
    expect(sender.rttMs).toBeGreaterThanOrEqual(0)
    expect(sender.rttMs).toBeLessThan(1_000)
    expect(sender.targetBitrateKbps).toBe(cam.stats.targetBitrateKbps)
    const metrics = parsePromText((await (await fetch(`http://${await webOf(alpha)}/metrics`)).text()).replace(/ Nan$/gm, ' NaN'))
    expect(series(metrics, 'edge_consumer_sent_packets_total', { peer: bravo.peerId }).some(s => s.value > 0)).toBe(true)
    const browserPackets = series(metrics, 'edge_consumer_sent_packets_total', { peer: 'browser', consumer: `${player.id.slice(0, 8) as string}/${player.tracks[0].mid as string}` })
    expect(browserPackets).toHaveLength(1)
    expect(browserPackets[0].value).toBeGreaterThan(0)

    expect((await unixRequest(bravo.socket, 'DELETE', `/v1/watch/${res.body.id as string}`)).status).toBe(204)
    await own.evaluate(async () => { await (globalThis as any).edgeViewer.stop() })
    await waitFor('alpha\'s camera stopped', async () => (await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'cam').running === false, 10_000)
    expect((await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.producers).toEqual([])
  }, 60_000)
})
