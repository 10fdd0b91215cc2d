import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEdgedPair } from '../helpers/edged-pair.ts'
import { EDGECTL, ROOT, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

// WHEP and WHIP with a WebRTC stack that is neither libdatachannel nor a
// browser: GStreamer's webrtcbin (libnice, its own DTLS/SRTP), which
// GStreamer's whepsrc/whipsink are built on (they are not in Debian 12).

const run = promisify(execFile)
const CLIENT = path.join(ROOT, 'test', 'helpers', 'gst-webrtc-client.py')
const rtc = { bindAddress: '127.0.0.1' }
const video = (codec: string): Record<string, unknown> => ({ kind: 'video', codec, pipeline: 'videotestsrc is-live=true', width: 320, height: 240, fps: 30 })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function unavailable (): string | undefined {
  try {
    execFileSync('/usr/bin/python3', ['-c', "import gi; [gi.require_version(n, v) for n, v in [('Gst', '1.0'), ('GstWebRTC', '1.0'), ('GstSdp', '1.0'), ('Nice', '0.1')]]; from gi.repository import Gst, GstWebRTC, GstSdp, Nice"], { stdio: 'ignore' })
    execFileSync('gst-inspect-1.0', ['nicesrc'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'needs python3-gi, the GStreamer typelibs and gstreamer1.0-nice (scripts/setup --test)'
  }
}

interface Client {
  proc: ChildProcess
  events: Array<Record<string, any>>
  exited: Promise<number | null>
}

function client (mode: 'whep' | 'whip', url: string, codec: string, seconds: number): Client {
  const proc = spawn('/usr/bin/python3', [CLIENT, mode, url, '--codec', codec, '--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'ignore'] })
  const events: Client['events'] = []
  // Each event is stamped with when it arrived (`at`, ms).
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', line => { try { events.push({ ...JSON.parse(line), at: performance.now() }) } catch {} })
  return { proc, events, exited: new Promise(resolve => { proc.once('exit', code => { resolve(code) }) }) }
}

const lastCount = (c: Client): { frames: number, at: number } | undefined => c.events.findLast(e => e.event === 'frames') as { frames: number, at: number } | undefined
const frames = (c: Client): number => lastCount(c)?.frames ?? 0
const skip = unavailable()

describe.skipIf(skip !== undefined)(`WHEP and WHIP with GStreamer's webrtcbin${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  let alpha: EdgedProcess, bravo: EdgedProcess
  let base: string
  const clients: Client[] = []

  beforeAll(async () => {
    ;[alpha, bravo] = await startEdgedPair(
      { name: 'alpha', config: { rtc, web: { enabled: true, listen: '127.0.0.1:0' }, media: { sources: { h264: video('h264'), vp8: video('vp8') } } } },
      { name: 'bravo', config: { rtc } })
    base = `http://${await waitFor('web address', async () => (await unixRequest(alpha.socket, 'GET', '/v1/status')).body.web as string | null)}`
    await waitFor('bravo–alpha session', async () =>
      (await unixRequest(bravo.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.peer === alpha.peerId && s.state === 'connected'), 20_000)
  }, 60_000)
  afterAll(async () => {
    for (const c of clients) c.proc.kill('SIGKILL')
    await Promise.all([alpha, bravo].map(async d => { await d?.cleanup() }))
  })

  for (const codec of ['h264', 'vp8']) {
    it(`plays a ${codec} source over WHEP: ≥ 60 frames decoded in 3 s`, async () => {
      const c = client('whep', `${base}/whep/${codec}`, codec, 30)
      clients.push(c)
      await waitFor('answered', () => c.events.find(e => e.event === 'answered' || e.event === 'refused' || e.event === 'error'), 15_000)
      expect(c.events[0]).toMatchObject({ event: 'answered', status: 201 })
      await waitFor('first frames', () => frames(c) > 0, 15_000)
      // The client counts once a second: the rate between two of its counts at least
      // 3 s apart (a count late by a moment must not read as a second of no frames).
      const before = lastCount(c) as { frames: number, at: number }
      await waitFor('a count 3 s later', () => (lastCount(c)?.at ?? 0) - before.at >= 3_000, 10_000)
      const after = lastCount(c) as { frames: number, at: number }
      const inThree = (after.frames - before.frames) * 3_000 / (after.at - before.at)
      console.log(`webrtcbin WHEP ${codec}: ${after.frames - before.frames} frames in ${(after.at - before.at).toFixed(0)} ms (${inThree.toFixed(0)} per 3 s)`)
      expect(inThree).toBeGreaterThanOrEqual(60)
      c.proc.kill('SIGTERM') // the client DELETEs its resource on the way out
      expect(await c.exited).toBe(0)
      await waitFor('session deleted', async () => !(await (await fetch(`${base}/api/browsers`)).json() as any).sessions.some((s: any) => s.source === codec), 10_000)
    }, 60_000)
  }

  it('publishes over WHIP as a source bravo watches with edgectl watch --sink count', async () => {
    const c = client('whip', `${base}/whip/gst`, 'h264', 60)
    clients.push(c)
    await waitFor('answered', () => c.events.find(e => e.event === 'answered' || e.event === 'refused' || e.event === 'error'), 15_000)
    expect(c.events[0]).toMatchObject({ event: 'answered', status: 201 })
    await waitFor('gst in alpha\'s presence', async () =>
      (await unixRequest(bravo.socket, 'GET', '/v1/peers')).body.peers.find((p: any) => p.peerId === alpha.peerId)?.sources.some((s: any) => s.name === 'gst'), 10_000)
    const id = (await run(EDGECTL, ['--socket', bravo.socket, 'watch', alpha.peerId, 'gst', '--sink', 'count'])).stdout.trim()
    const decoded = async (): Promise<number> => (await unixRequest(bravo.socket, 'GET', `/v1/watch/${id}`)).body.stats?.framesDecoded ?? 0
    await waitFor('first frames on bravo', async () => await decoded() > 0, 15_000)
    const before = await decoded()
    await sleep(3_000)
    const n = await decoded() - before
    console.log(`webrtcbin WHIP → alpha → bravo: ${n} frames decoded in 3 s`)
    expect(n).toBeGreaterThanOrEqual(45)
    c.proc.kill('SIGTERM')
    expect(await c.exited).toBe(0)
    await waitFor('source gone', async () => !(await unixRequest(alpha.socket, 'GET', '/v1/sources')).body.local.some((s: any) => s.name === 'gst'), 10_000)
    await waitFor('bravo\'s watch ended', async () => (await unixRequest(bravo.socket, 'GET', `/v1/watch/${id}`)).body.state === 'failed', 10_000)
    await unixRequest(bravo.socket, 'DELETE', `/v1/watch/${id}`)
  }, 60_000)
})
