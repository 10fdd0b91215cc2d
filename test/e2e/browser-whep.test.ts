import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const TOKEN = 'a-web-token-of-at-least-16-chars'
const rtc = { bindAddress: '127.0.0.1' }
const video = (codec: string): Record<string, unknown> => ({ kind: 'video', codec, pipeline: 'videotestsrc is-live=true pattern=ball', width: 320, height: 240, fps: 30 })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A real browser offer (recvonly video + audio, a data channel), made by Chromium and never applied. */
async function browserOffer (page: Page, kinds: string[] = ['video', 'audio']): Promise<string> {
  return await page.evaluate(async (kinds) => {
    const pc = new (globalThis as any).RTCPeerConnection()
    for (const k of kinds) pc.addTransceiver(k, { direction: 'recvonly' })
    pc.createDataChannel('echo')
    const offer = await pc.createOffer()
    pc.close()
    return offer.sdp as string
  }, kinds)
}

describe('WHEP on the web listener (token required)', () => {
  let d: EdgedProcess
  let browser: TestBrowser
  let page: Page
  let base: string

  const post = async (path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/sdp' }): Promise<Response> =>
    await fetch(`${base}${path}`, { method: 'POST', headers, body })
  const errorOf = async (res: Response): Promise<{ status: number, name: string, message: string }> => {
    const body = await res.json() as any
    return { status: res.status, name: body.error.name, message: body.error.message }
  }

  beforeAll(async () => {
    d = await startEdged({ name: 'alpha', config: { rtc, web: { enabled: true, listen: '127.0.0.1:0', token: TOKEN }, media: { sources: { h264: video('h264'), vp8: video('vp8'), mic: { kind: 'audio', codec: 'opus', pipeline: 'audiotestsrc is-live=true wave=sine' } } } } })
    const web = await waitFor('web address', async () => (await unixRequest(d.socket, 'GET', '/v1/status')).body.web as string | null)
    base = `http://${web}`
    browser = await launchBrowser()
    page = await browser.page(`${base}/#token=${TOKEN}`)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await d?.cleanup()
  })

  it('refuses a missing or wrong token with 401, but answers CORS preflights', async () => {
    const offer = await browserOffer(page)
    const none = await post('/whep/h264', offer, { 'content-type': 'application/sdp' })
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(none.headers.get('access-control-allow-origin')).toBe('*')
    expect(await errorOf(none)).toMatchObject({ status: 401, name: 'UnauthorizedError' })
    const wrong = await post('/whep/h264', offer, { authorization: 'Bearer not-the-token-at-all', 'content-type': 'application/sdp' })
    expect((await errorOf(wrong)).status).toBe(401)
    const pre = await fetch(`${base}/whep/h264`, { method: 'OPTIONS', headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(pre.headers.get('access-control-expose-headers')).toContain('location')
    expect(pre.headers.get('accept-post')).toBe('application/sdp')
  })

  it('answers bad SDP, a wrong content type, an unknown source or peer with the right 4xx', async () => {
    const offer = await browserOffer(page)
    expect(await errorOf(await post('/whep/h264', 'v=0\r\nthis is not sdp\r\n'))).toMatchObject({ status: 400, name: 'BadSdpError' })
    expect(await errorOf(await post('/whep/h264', ''))).toMatchObject({ status: 400 })
    expect(await errorOf(await post('/whep/h264', 'x'.repeat(70_000)))).toMatchObject({ status: 413 })
    const audioOnly = await browserOffer(page, ['audio'])
    const noVideo = await errorOf(await post('/whep/h264', audioOnly))
    expect(noVideo).toMatchObject({ status: 400, name: 'BadSdpError' })
    expect(noVideo.message).toMatch(/video/)
    expect(await errorOf(await post('/whep/h264', offer, { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }))).toMatchObject({ status: 415, name: 'UnsupportedMediaTypeError' })
    expect(await errorOf(await post('/whep/nosuch', offer))).toMatchObject({ status: 404, name: 'NotFoundError' })
    expect(await errorOf(await post('/whep/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/h264', offer))).toMatchObject({ status: 404, name: 'NotFoundError' })
    const del = await fetch(`${base}/whep/session/nosuch`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })
    expect((await errorOf(del)).status).toBe(404)
    const patch = await fetch(`${base}/whep/session/nosuch`, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host' })
    expect(patch.status).toBe(405)
  })

  for (const codec of ['h264', 'vp8']) {
    it(`still serves: Chromium plays the local ${codec} source, and DELETE on the Location ends it`, async () => {
      await page.evaluate(async (codec) => { await (globalThis as any).edgeViewer.play(null, codec, 'video') }, codec)
      const decoded = async (): Promise<number> => await page.evaluate(() => (globalThis as any).edgeViewer.decodedFrames() as number)
      await waitFor('first frame', async () => await decoded() > 0, 15_000)
      const before = await decoded()
      await sleep(2_000)
      expect(await decoded() - before).toBeGreaterThanOrEqual(30)
      const list = async (): Promise<any[]> => (await (await fetch(`${base}/api/browsers`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as any).sessions
      expect(await list()).toMatchObject([{ kind: 'whep', peer: null, source: codec, state: 'connected' }])
      const resource = await page.evaluate(() => (globalThis as any).edgeViewer.resource as string)
      expect(resource).toMatch(/\/whep\/session\/[\w-]+$/)
      const del = await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })
      expect(del.status).toBe(200)
      await waitFor('session gone', async () => (await list()).length === 0, 5_000)
      await waitFor('source stopped', async () => (await unixRequest(d.socket, 'GET', '/v1/sources')).body.local.find((s: any) => s.name === codec).running === false, 5_000)
    }, 40_000)
  }

  it('plays a video and an audio source in one session with ?audio=, and names a wrong audio source', async () => {
    const offer = await browserOffer(page)
    expect(await errorOf(await post('/whep/h264?audio=nosuch', offer))).toMatchObject({ status: 404, name: 'NotFoundError' })
    expect(await errorOf(await post('/whep/h264?audio=vp8', offer))).toMatchObject({ status: 400, name: 'BadRequestError' })
    expect(await errorOf(await post('/whep/h264?audio=', offer))).toMatchObject({ status: 400, name: 'BadRequestError' })
    const got = await page.evaluate(async (token) => {
      const pc = new (globalThis as any).RTCPeerConnection()
      pc.addTransceiver('video', { direction: 'recvonly' })
      pc.addTransceiver('audio', { direction: 'recvonly' })
      await pc.setLocalDescription(await pc.createOffer())
      const res = await fetch('/whep/h264?audio=mic', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' }, body: pc.localDescription.sdp })
      const answer = await res.text()
      await pc.setRemoteDescription({ type: 'answer', sdp: answer })
      const packets = async (): Promise<Record<string, number>> => {
        const out: Record<string, number> = {}
        for (const r of (await pc.getStats()).values()) if (r.type === 'inbound-rtp') out[r.kind] = r.packetsReceived
        return out
      }
      const deadline = performance.now() + 15_000
      let seen = await packets()
      while (((seen.audio ?? 0) < 20 || (seen.video ?? 0) < 20) && performance.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 200))
        seen = await packets()
      }
      await fetch(res.headers.get('location') as string, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
      pc.close()
      return { status: res.status, sendonly: answer.split('a=sendonly').length - 1, seen }
    }, TOKEN)
    expect(got.status).toBe(201)
    expect(got.sendonly).toBe(2)
    expect(got.seen.video).toBeGreaterThanOrEqual(20)
    expect(got.seen.audio).toBeGreaterThanOrEqual(20)
  }, 40_000)
})
