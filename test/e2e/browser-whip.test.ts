import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const run = promisify(execFile)
const rtc = { bindAddress: '127.0.0.1' }
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface Published { status: number, location: string | null, body: string, offer: string }

/** The codec (lower case) a publisher lists first on its video m= line: what WHIP must take when edged accepts it. */
function firstVideoCodec (offer: string): string | undefined {
  const m = /^m=video \S+ \S+ (\d+)/m.exec(offer)
  return m === null ? undefined : new RegExp(`^a=rtpmap:${m[1]} ([^/]+)/`, 'm').exec(offer)?.[1].toLowerCase()
}

/**
 * In the page: a canvas drawn at 30 fps, captured as a stream, and published
 * with WHIP (RFC 9725) to `path`: one offer with every candidate (no trickle),
 * our answer applied. The PeerConnection stays in globalThis.whip.
 */
async function publishCanvas (page: Page, path: string, kinds: string[] = ['video']): Promise<Published> {
  return await page.evaluate(async ({ path, kinds }) => {
    const g = globalThis as any
    const canvas = g.document.createElement('canvas')
    canvas.width = 320
    canvas.height = 240
    const ctx = canvas.getContext('2d')
    let n = 0
    const timer = setInterval(() => {
      n++
      ctx.fillStyle = `hsl(${(n * 7) % 360}, 80%, 50%)`
      ctx.fillRect(0, 0, 320, 240)
      ctx.fillStyle = '#fff'
      ctx.fillRect(n % 300, 100, 20, 20)
    }, 33)
    const stream = canvas.captureStream(30)
    const pc = new g.RTCPeerConnection()
    if (kinds.includes('video')) pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly' })
    if (kinds.includes('audio')) {
      const audio = new g.AudioContext()
      const osc = audio.createOscillator()
      const dest = audio.createMediaStreamDestination()
      osc.connect(dest)
      osc.start()
      pc.addTransceiver(dest.stream.getAudioTracks()[0], { direction: 'sendonly' })
    }
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise<void>(resolve => {
      if (pc.iceGatheringState === 'complete') resolve()
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve() }
    })
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription?.sdp })
    const body = await res.text()
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body })
    else { pc.close(); clearInterval(timer) }
    g.whip = { pc, timer, location: res.headers.get('location') }
    return { status: res.status, location: res.headers.get('location'), body, offer: pc.localDescription?.sdp ?? '' }
  }, { path, kinds })
}

async function stopPublishing (page: Page, base: string): Promise<void> {
  await page.evaluate(async (base) => {
    const g = globalThis as any
    clearInterval(g.whip.timer)
    await fetch(`${base}${g.whip.location as string}`, { method: 'DELETE' })
    g.whip.pc.close()
  }, base)
}

const watchStats = async (d: EdgedProcess, id: string): Promise<any> => (await unixRequest(d.socket, 'GET', `/v1/watch/${id}`)).body

describe('WHIP: Chromium publishes into the swarm', () => {
  let alpha: EdgedProcess, bravo: EdgedProcess
  let browser: TestBrowser
  let page: Page
  let base: string
  let bravoBase: string

  beforeAll(async () => {
    ;[alpha, bravo] = await startEdgedPair({
      name: 'alpha',
      config: { rtc, web: { enabled: true, listen: '127.0.0.1:0' }, media: { sources: { cam: { kind: 'video', codec: 'h264', pipeline: 'videotestsrc is-live=true', width: 320, height: 240, fps: 30 } } } }
    }, { name: 'bravo', config: { rtc, web: { enabled: true, listen: '127.0.0.1:0' } } })
    base = `http://${await waitFor('web address', async () => (await unixRequest(alpha.socket, 'GET', '/v1/status')).body.web as string | null)}`
    bravoBase = `http://${await waitFor('bravo web address', async () => (await unixRequest(bravo.socket, 'GET', '/v1/status')).body.web as string | null)}`
    await waitFor('bravo–alpha session', async () =>
      (await unixRequest(bravo.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.peer === alpha.peerId && s.state === 'connected'), 20_000)
    browser = await launchBrowser()
    page = await browser.page(`${base}/`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await Promise.all([alpha, bravo].map(async d => { await d?.cleanup() }))
  })

  it('refuses a name in use (409), a bad name (400) and an offer that sends nothing (400)', async () => {
    const taken = await publishCanvas(page, '/whip/cam')
    expect(taken.status).toBe(409)
    expect(JSON.parse(taken.body).error.message).toMatch(/cam/)
    const bad = await publishCanvas(page, `/whip/${encodeURIComponent('no spaces')}`)
    expect(bad.status).toBe(400)
    const recvOnly: { status: number, body: any } = await page.evaluate(async () => {
      const pc = new (globalThis as any).RTCPeerConnection()
      pc.addTransceiver('video', { direction: 'recvonly' })
      const offer = await pc.createOffer()
      pc.close()
      const res = await fetch('/whip/nothing', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer.sdp })
      return { status: res.status, body: await res.json() }
    })
    expect(recvOnly).toMatchObject({ status: 400, body: { error: { name: 'BadSdpError' } } })
    expect(recvOnly.body.error.message).toMatch(/sends/)
  }, 30_000)

  it('publishes a canvas stream as a source that bravo watches with edgectl watch --sink count', async () => {
    const published = await publishCanvas(page, '/whip/canvas')
    expect(published.status).toBe(201)
    expect(published.location).toMatch(/^\/whip\/session\/[\w-]+$/)
    expect(published.body).toMatch(/^v=0/)
    await waitFor('browser connected', async () => await page.evaluate(() => (globalThis as any).whip.pc.connectionState === 'connected'), 15_000)

    // alpha lists it as a published source; bravo sees it in alpha's presence.
    const local = await waitFor('published source listed', async () =>
      (await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'canvas'))
    expect(local).toMatchObject({ kind: 'video', published: true, running: true })
    expect(local.encoder).toMatch(/^whip /)
    // The publisher's own order of preference (Chromium lists VP8 first), not ours.
    expect(local.codec).toBe(firstVideoCodec(published.offer))
    await waitFor('canvas in alpha\'s presence', async () =>
      (await unixRequest(bravo.socket, 'GET', '/v1/peers')).body.peers.find((p: any) => p.peerId === alpha.peerId)?.sources.some((s: any) => s.name === 'canvas'), 10_000)

    const { stdout } = await run(EDGECTL, ['--socket', bravo.socket, 'watch', alpha.peerId, 'canvas', '--sink', 'count'])
    const id = stdout.trim()
    expect(id).toMatch(/^[\w-]+$/)
    await waitFor('first frames decoded on bravo', async () => (await watchStats(bravo, id)).stats?.framesDecoded > 0, 15_000)
    const before = (await watchStats(bravo, id)).stats.framesDecoded as number
    await sleep(3_000)
    const after = await watchStats(bravo, id)
    console.log(`WHIP canvas → alpha → bravo: ${after.stats.framesDecoded - before} frames decoded in 3 s (codec ${after.codec ?? local.codec})`)
    expect(after.state).toBe('active')
    expect(after.stats.framesDecoded - before).toBeGreaterThanOrEqual(45)

    // Another browser plays it over WHEP from alpha: one publisher, viewers in the swarm and on the web.
    // And a browser on bravo plays it forwarded through bravo.
    const player = await browser.page(`${base}/`)
    const remotePlayer = await browser.page(`${bravoBase}/`)
    await player.evaluate(async () => { await (globalThis as any).edgeViewer.play(null, 'canvas', 'video') })
    await remotePlayer.evaluate(async (peer) => { await (globalThis as any).edgeViewer.play(peer, 'canvas', 'video') }, alpha.peerId)
    for (const p of [player, remotePlayer]) {
      await waitFor('player decodes the published stream', async () => await p.evaluate(() => (globalThis as any).edgeViewer.decodedFrames() as number) > 10, 15_000)
    }

    // DELETE on the resource: the source goes, bravo's watch ends with it, and so does the player's session.
    await stopPublishing(page, base)
    await waitFor('source gone from alpha', async () =>
      !(await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.some((s: any) => s.name === 'canvas'), 5_000)
    const ended = await waitFor('bravo\'s watch failed', async () => { const w = await watchStats(bravo, id); return w.state === 'failed' ? w : undefined }, 10_000)
    expect(ended.error.message).toMatch(/publisher left/)
    await waitFor('canvas gone from presence', async () =>
      !(await unixRequest(bravo.socket, 'GET', '/v1/peers')).body.peers.find((p: any) => p.peerId === alpha.peerId)?.sources.some((s: any) => s.name === 'canvas'), 10_000)
    for (const web of [base, bravoBase]) {
      await waitFor('player\'s session closed', async () =>
        !(await (await fetch(`${web}/api/browsers`)).json() as any).sessions.some((b: any) => b.kind === 'whep' && b.source === 'canvas'), 10_000)
    }
    await player.close()
    await remotePlayer.close()
    await unixRequest(bravo.socket, 'DELETE', `/v1/watch/${id}`)
  }, 60_000)

  it('publishes video and audio as two sources, gone when the browser goes away', async () => {
    const published = await publishCanvas(page, '/whip/both', ['video', 'audio'])
    expect(published.status).toBe(201)
    const names = await waitFor('both published', async () => {
      const local = (await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local as any[]
      const mine = local.filter(s => s.published === true).map(s => `${s.name}:${s.kind}:${s.codec as string}`)
      return mine.length === 2 ? mine : undefined
    })
    expect(names).toEqual(expect.arrayContaining(['both.audio:audio:opus', expect.stringMatching(/^both:video:/)]))
    await waitFor('audio packets', async () =>
      (await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === 'both.audio')?.stats?.packets > 10, 10_000)
    // A player of `both` gets `both.audio` in the same session.
    const player = await browser.page(`${base}/`)
    await player.evaluate(async () => { await (globalThis as any).edgeViewer.play(null, 'both', 'video') })
    const played = await waitFor('player session with audio', async () =>
      (await (await fetch(`${base}/api/browsers`)).json() as any).sessions.find((b: any) => b.kind === 'whep' && b.source === 'both' && b.audio === 'both.audio' && b.packetsSent > 50))
    expect(played.state).toBe('connected')
    await player.close()
    // No DELETE: the browser closes its PeerConnection, and the session ends with it.
    await page.evaluate(() => { const g = globalThis as any; clearInterval(g.whip.timer); g.whip.pc.close() })
    await waitFor('sources gone', async () =>
      !(await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.some((s: any) => s.published === true), 45_000)
    // alpha kept serving everything else.
    expect((await unixRequest(alpha.socket, 'GET', '/v1/status')).status).toBe(200)
  }, 60_000)
})
