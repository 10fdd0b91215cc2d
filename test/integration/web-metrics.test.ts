import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { parse, stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EDGECTL, EDGED, startEdged, testConfig, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { parsePromText, series } from '../helpers/prom-text.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const run = promisify(execFile)
const TOKEN = 'a-token-of-at-least-16-chars'
const rtc = { bindAddress: '127.0.0.1' }

async function webOf (d: EdgedProcess): Promise<string> {
  return await waitFor(`${d.name} web address`, async () => (await unixRequest(d.socket, 'GET', '/v1/status')).body.web as string | null)
}

async function get (url: string, token?: string): Promise<Response> {
  return await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

describe('web listener and /metrics', () => {
  let a: EdgedProcess, b: EdgedProcess

  beforeAll(async () => {
    a = await startEdged({
      name: 'alpha',
      config: {
        rtc,
        web: { enabled: true, listen: '127.0.0.1:0' },
        media: { sources: { video: { kind: 'video', pipeline: 'videotestsrc is-live=true', width: 320, height: 240, fps: 15, alwaysOn: true } } }
      }
    })
    const status = (await unixRequest(a.socket, 'GET', '/v1/status')).body
    b = await startEdged({ name: 'bravo', config: { rtc, swarm: { bootstrap: [status.addresses[0]] } } })
    await waitFor('alpha–bravo session', async () =>
      (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.peer === b.peerId && s.state === 'connected' && s.rttMs !== null), 20_000)
  }, 60_000)
  afterAll(async () => { await Promise.all([a, b].map(async d => { await d?.cleanup() })) })

  it('shows the real address of a port-0 listener in status, and none when web is off', async () => {
    const web = await webOf(a)
    expect(web).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(Number(web.split(':')[1])).toBeGreaterThan(0)
    expect((await unixRequest(b.socket, 'GET', '/v1/status')).body.web).toBeNull()
    const root = await get(`http://${web}/`)
    expect(root.status).toBe(200)
    expect(root.headers.get('content-type')).toMatch(/^text\/html/)
    expect((await get(`http://${web}/nosuch`)).status).toBe(404)
  })

  it('serves Prometheus text with swarm, session, channel, media and event-loop series', async () => {
    const web = await webOf(a)
    const sent = await unixRequest(a.socket, 'POST', `/v1/channels/${b.peerId}/control`, { text: 'hello' })
    expect(sent.status).toBe(202)
    expect((await unixRequest(b.socket, 'POST', `/v1/channels/${a.peerId}/control`, { text: 'hi' })).status).toBe(202)
    // The always-on source must have produced frames before they can be counted.
    const text = await waitFor('metrics with frames', async () => {
      const res = await get(`http://${web}/metrics`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const body = await res.text()
      const parsed = parsePromText(body)
      const frames = series(parsed, 'edge_media_source_frames_total', { source: 'video' })[0]?.value ?? 0
      const bytes = series(parsed, 'edge_session_sent_bytes_total', { peer: b.peerId })[0]?.value ?? 0
      const received = series(parsed, 'edge_session_received_bytes_total', { peer: b.peerId })[0]?.value ?? 0
      return frames > 0 && bytes > 0 && received > 0 ? parsed : undefined
    }, 20_000, 250)

    expect(text.types.get('edge_sessions')).toBe('gauge')
    expect(text.types.get('edge_session_sent_bytes_total')).toBe('counter')
    expect(series(text, 'edge_info', { peer_id: a.peerId, swarm: 'test', stack: 'webrtc' })[0].value).toBe(1)
    expect(series(text, 'edge_peers', { connected: 'true' })[0].value).toBe(1)
    expect(series(text, 'edge_sessions', { state: 'connected', profile: 'webrtc' })[0].value).toBe(1)
    const rtt = series(text, 'edge_session_rtt_seconds', { peer: b.peerId })[0].value
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(rtt).toBeLessThan(1)
    expect(series(text, 'edge_session_sent_bytes_total', { peer: b.peerId })[0].value).toBeGreaterThan(0)
    expect(series(text, 'edge_session_received_bytes_total', { peer: b.peerId })[0].value).toBeGreaterThan(0)
    expect(series(text, 'edge_channel_dropped_messages_total', { peer: b.peerId, channel: 'control', where: 'send' })[0].value).toBe(0)
    expect(series(text, 'edge_channel_messages_total', { peer: b.peerId, channel: 'control', direction: 'sent' })).toHaveLength(1)
    expect(series(text, 'edge_media_source_running', { source: 'video', kind: 'video', codec: 'h264' })[0].value).toBe(1)
    expect(series(text, 'edge_media_source_packets_total', { source: 'video' })[0].value).toBeGreaterThan(0)
    expect(series(text, 'edge_media_source_packets_lost_total', { source: 'video' })[0].value).toBe(0)
    expect(series(text, 'edge_media_source_bitrate_bits_per_second', { source: 'video' })).toHaveLength(1)
    expect(series(text, 'edge_gstreamer_restarts_total', { source: 'video' })[0].value).toBe(0)
    expect(series(text, 'nodejs_eventloop_lag_seconds')).toHaveLength(1)
    expect(text.types.get('nodejs_eventloop_lag_p99_seconds')).toBe('gauge')
  })

  it('edgectl top shows sessions and streams each tick (--json: one line per tick with bit rates)', async () => {
    const { stdout } = await run(EDGECTL, ['--socket', a.socket, 'top', '--json', '-n', '3', '--interval', '0.3'])
    const ticks = stdout.trim().split('\n').map(line => JSON.parse(line))
    expect(ticks).toHaveLength(3)
    const session = ticks[2].sessions.find((s: any) => s.peer === b.peerId)
    expect(session).toMatchObject({ name: 'bravo', state: 'connected', profile: 'webrtc', dropped: 0 })
    expect(session.rttMs).toBeGreaterThanOrEqual(0)
    expect(ticks[0].sessions[0].sendBps).toBeNull() // no rate before a second sample
    expect(session.sendBps).toBeGreaterThanOrEqual(0)
    expect(ticks[2].sources[0]).toMatchObject({ name: 'video', running: true, lost: 0, restarts: 0 })
    expect(ticks[2].sources[0].bitrateKbps).toBeGreaterThan(0)

    const screen = (await run(EDGECTL, ['--socket', a.socket, 'top', '-n', '1'])).stdout
    expect(screen.startsWith('\x1b[H\x1b[2J')).toBe(true)
    expect(screen).toMatch(new RegExp(`${b.peerId}\\s+bravo\\s+connected\\s+webrtc`))
    expect(screen).toMatch(/video\s+video\s+yes\s+0\s+[\d.]+ (k|M)?bit\/s\s+\d+\s+0\s+0$/m)
  })

  it('the test parser refuses what is not Prometheus text', () => {
    expect(() => parsePromText('# TYPE x gauge\nx{a="1" 2\n')).toThrow()
    expect(() => parsePromText('y 1\n')).toThrow(/no TYPE/)
    expect(() => parsePromText('# TYPE x gauge\nx 1\nx 2\n')).toThrow(/twice/)
    expect(() => parsePromText('# TYPE x gauge\nx one\n')).toThrow(/bad value/)
  })
})

describe('web listener access', () => {
  const started: EdgedProcess[] = []
  afterAll(async () => { await Promise.all(started.map(async d => { await d.cleanup() })) })

  it('needs the bearer token on a non-loopback address (127.0.0.2) for every path', async () => {
    const d = await startEdged({ name: 'guarded', config: { web: { enabled: true, listen: '127.0.0.2:0', token: TOKEN } } })
    started.push(d)
    const web = await webOf(d)
    expect(web).toMatch(/^127\.0\.0\.2:\d+$/)
    const none = await get(`http://${web}/metrics`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await none.json() as { error: { name: string } }).error.name).toBe('UnauthorizedError')
    expect((await get(`http://${web}/metrics`, 'wrong-token-wrong-token')).status).toBe(401)
    expect((await get(`http://${web}/nope`)).status).toBe(401) // no probing for routes without the token
    expect((await get(`http://${web}/metrics`, TOKEN)).status).toBe(200)
  })

  it('without a token a loopback listener is open; a token, once set, is required there too', async () => {
    const open = await startEdged({ name: 'open', config: { web: { enabled: true, listen: '127.0.0.1:0' } } })
    started.push(open)
    expect((await get(`http://${await webOf(open)}/metrics`)).status).toBe(200)
    const locked = await startEdged({ name: 'locked', config: { web: { enabled: true, listen: '127.0.0.1:0', token: TOKEN } } })
    started.push(locked)
    expect((await get(`http://${await webOf(locked)}/metrics`)).status).toBe(401)
    expect((await get(`http://${await webOf(locked)}/metrics`, TOKEN)).status).toBe(200)
  })

  it('with metrics off there is no /metrics; a reload that turns them on loads them then, and one that turns them off drops them', async () => {
    const d = await startEdged({ name: 'quiet', config: { web: { enabled: true, listen: '127.0.0.1:0' }, metrics: { enabled: false } } })
    started.push(d)
    const web = await webOf(d)
    expect((await get(`http://${web}/metrics`)).status).toBe(404)

    // prom-client is imported only now (the daemon started without it): /metrics answers at once.
    const config = parse(await fs.readFile(d.configFile, 'utf8'))
    await fs.writeFile(d.configFile, stringify({ ...config, metrics: { enabled: true } }))
    const on = await unixRequest(d.socket, 'POST', '/v1/reload')
    expect(on.status).toBe(200)
    expect(on.body).toMatchObject({ applied: ['metrics.enabled'], restartNeeded: [] })
    const res = await get(`http://${web}/metrics`)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(`edge_info{version=`)
    // The event-loop lag percentiles read NaN ("Nan") until the new monitor has a sample.
    const text = await waitFor('metrics with event-loop samples', async () => {
      try {
        return parsePromText(await (await get(`http://${web}/metrics`)).text())
      } catch {
        return undefined
      }
    }, 10_000, 100)
    expect(series(text, 'edge_info', { peer_id: d.peerId, swarm: 'test' })[0].value).toBe(1)
    expect(series(text, 'nodejs_eventloop_lag_seconds')).toHaveLength(1)

    await fs.writeFile(d.configFile, stringify({ ...config, metrics: { enabled: false } }))
    expect((await unixRequest(d.socket, 'POST', '/v1/reload')).body).toMatchObject({ applied: ['metrics.enabled'] })
    expect((await get(`http://${web}/metrics`)).status).toBe(404)
    expect(d.proc.exitCode).toBeNull()
  })

  it('refuses to start on a non-loopback address without a token (exit 2, naming web.token)', async () => {
    const { dir, cleanup } = await makeTempDir('edged-notoken-')
    try {
      const file = path.join(dir, 'edged.yaml')
      await fs.writeFile(file, stringify(testConfig(dir, 'notoken', { web: { enabled: true, listen: '127.0.0.2:0' } })))
      const err = await run(EDGED, ['--config', file]).then(() => undefined, (e: { code: number, stderr: string }) => e)
      expect(err?.code).toBe(2)
      expect(err?.stderr).toContain('web.token: required when web.listen is not a loopback address')
    } finally {
      await cleanup()
    }
  })
})
