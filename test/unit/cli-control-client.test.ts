import { spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createControlClient, type ControlEvent } from '../../src/client/control-client.ts'
import type { PeersResponse, StatusResponse } from '../../src/daemon/api-types.ts'
import { DaemonError, DaemonNotRunningError } from '../../src/util/errors.ts'
import { json, startFakeDaemon, type FakeDaemon } from './cli-fake-daemon.ts'

export const STATUS: StatusResponse = {
  peerId: '12D3KooWStatusPeer', name: 'robot-1', version: '0.1.0', swarm: 'test', stack: 'webrtc',
  addresses: ['/ip4/127.0.0.1/tcp/7420/p2p/12D3KooWStatusPeer'], web: null, foxglove: null, pid: 42, uptimeS: 75,
  peers: 1, sessions: 0, config: '(defaults)'
}

let fake: FakeDaemon | undefined
afterEach(async () => { await fake?.close(); fake = undefined })

async function rejection (p: Promise<unknown>): Promise<Error> {
  return await p.then(() => { throw new Error('expected a rejection') }, (err: Error) => err)
}

describe('control client', () => {
  it('gets status and peers as parsed JSON and sends JSON bodies', async () => {
    const peers: PeersResponse = { peers: [] }
    let posted = ''
    fake = await startFakeDaemon({
      'GET /v1/status': (_req, res) => { json(res, 200, STATUS) },
      'GET /v1/peers': (_req, res) => { json(res, 200, peers) },
      'POST /v1/echo': (req, res, body) => { posted = `${req.headers['content-type']} ${body}`; res.writeHead(204).end() }
    })
    const client = createControlClient({ socket: fake.socket })
    expect(await client.status()).toEqual(STATUS)
    expect(await client.peers()).toEqual(peers)
    expect(await client.request('POST', '/v1/echo', { text: 'hi' })).toBeUndefined()
    expect(posted).toBe('application/json {"text":"hi"}')
  })

  it('turns an error body into a DaemonError with the daemon\'s name, message and status', async () => {
    fake = await startFakeDaemon({
      'GET /v1/status': (_req, res) => { json(res, 409, { error: { name: 'ConflictError', message: 'busy' } }) },
      'GET /v1/peers': (_req, res) => { res.writeHead(502).end('upstream broke') }
    })
    const client = createControlClient({ socket: fake.socket })
    const err = await rejection(client.status())
    expect(err).toBeInstanceOf(DaemonError)
    expect(err.name).toBe('DaemonError')
    expect((err as DaemonError).remoteName).toBe('ConflictError')
    expect((err as DaemonError).status).toBe(409)
    expect(err.message).toBe('busy')
    const raw = await rejection(client.peers())
    expect((raw as DaemonError).remoteName).toBe('HTTP502')
    expect(raw.message).toBe('upstream broke')
  })

  it('says edged is not running when the socket is missing or refuses', async () => {
    fake = await startFakeDaemon({})
    const missing = path.join(fake.dir, 'missing.sock')
    const err = await rejection(createControlClient({ socket: missing }).status())
    expect(err.name).toBe('DaemonNotRunningError')
    expect(err.message).toBe(`edged is not running (socket ${missing})`)
    expect((err as DaemonNotRunningError).code).toBe('ENOENT')

    // A stale socket file nobody listens on (its daemon was killed): connection refused.
    const stale = path.join(fake.dir, 'stale.sock')
    const killed = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(killed.signal).toBe('SIGKILL')
    expect((await fs.stat(stale)).isSocket()).toBe(true)
    const refused = await rejection(createControlClient({ socket: stale }).status())
    expect(refused.name).toBe('DaemonNotRunningError')
    expect(refused.message).toBe(`edged is not running (socket ${stale})`)
  })

  it.skipIf(process.getuid?.() === 0)('says permission denied when the socket is not ours to open', async () => {
    fake = await startFakeDaemon({})
    await fs.chmod(fake.socket, 0o000)
    const err = await rejection(createControlClient({ socket: fake.socket }).status())
    expect(err.name).toBe('DaemonNotRunningError')
    expect(err.message).toBe(`permission denied on socket ${fake.socket} (are you in the edged group?)`)
  })

  it('times out on a daemon that never answers', async () => {
    fake = await startFakeDaemon({ 'GET /v1/status': () => {} })
    const err = await rejection(createControlClient({ socket: fake.socket, timeoutMs: 200 }).status())
    expect(err.name).toBe('TimeoutError')
    expect(err.message).toContain('GET /v1/status')
  })

  it('follows events, parsing JSON data, until aborted or until edged ends the stream', async () => {
    fake = await startFakeDaemon({})
    const client = createControlClient({ socket: fake.socket })
    const got: ControlEvent[] = []
    const abort = new AbortController()
    const following = client.events(e => {
      got.push(e)
      if (got.length === 2) abort.abort()
    }, abort.signal)
    const stream = await fake.stream(0)
    stream.write('event: peer:discovered\ndata: {"peerId":"a",')
    stream.write('"name":"r"}\n\n: ping\n\nevent: note\ndata: not json\n\n')
    expect(await following).toBe('aborted')
    expect(got).toEqual([
      { type: 'peer:discovered', data: { peerId: 'a', name: 'r' } },
      { type: 'note', data: 'not json' }
    ])

    const closing = client.events(() => {})
    ;(await fake.stream(1)).end()
    expect(await closing).toBe('closed')

    const already = AbortSignal.abort()
    expect(await client.events(() => {}, already)).toBe('aborted')
  })

  it('follows any SSE path; messages() passes on only well-formed message events of its label', async () => {
    fake = await startFakeDaemon({})
    const client = createControlClient({ socket: fake.socket })
    const got: unknown[] = []
    const abort = new AbortController()
    const following = client.messages('pose/x', m => {
      got.push(m)
      if (got.length === 2) abort.abort()
    }, abort.signal)
    const stream = await fake.stream(0)
    expect(fake.seen).toEqual(['GET /v1/messages?channel=pose%2Fx'])
    stream.write('event: message\ndata: {"peer":"a","channel":"pose/x","text":"t"}\n\n')
    stream.write('event: message\ndata: {"peer":"a","channel":"pose/x"}\n\n')
    stream.write('event: message\ndata: not json\n\n')
    stream.write('event: session:state\ndata: {"peer":"a","channel":"pose/x","text":"t"}\n\n')
    stream.write('event: message\ndata: {"peer":"b","channel":"pose/x","base64":"AA=="}\n\n')
    expect(await following).toBe('aborted')
    expect(got).toEqual([{ peer: 'a', channel: 'pose/x', text: 't' }, { peer: 'b', channel: 'pose/x', base64: 'AA==' }])

    const raw: ControlEvent[] = []
    const generic = client.sse('/v1/events?since=1', e => { raw.push(e) })
    ;(await fake.stream(1)).end('event: x\ndata: 1\n\n')
    expect(await generic).toBe('closed')
    expect(raw).toEqual([{ type: 'x', data: 1 }])
    expect(fake.seen[1]).toBe('GET /v1/events?since=1')
  })

  it('fails a silent stream after the idle timeout it was given', async () => {
    fake = await startFakeDaemon({})
    const client = createControlClient({ socket: fake.socket })
    const started = Date.now()
    const err = await rejection(client.sse('/v1/events', () => {}, undefined, { idleTimeoutMs: 200 }))
    expect(err.name).toBe('TimeoutError')
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('puts peer ids and labels into paths escaped, and channel options into the query', async () => {
    const bodies: string[] = []
    fake = await startFakeDaemon({
      'POST /v1/channels/:peer/:label': (req, res, body) => { bodies.push(body); json(res, 202, { peer: 'p', channel: 'c', bytes: 1 }) },
      'DELETE /v1/sessions/:peer': (_req, res) => { res.writeHead(204).end() }
    })
    const client = createControlClient({ socket: fake.socket })
    expect(await client.send('p/../x', 'a b', { text: 'hi' }, { ordered: false, maxPacketLifeTime: 50 })).toEqual({ peer: 'p', channel: 'c', bytes: 1 })
    expect(await client.send('p', 'c', { base64: 'AA==' }, { ordered: true })).toEqual({ peer: 'p', channel: 'c', bytes: 1 })
    expect(await client.disconnect('p?q')).toBeUndefined()
    expect(fake.seen).toEqual([
      'POST /v1/channels/p%2F..%2Fx/a%20b?ordered=false&maxPacketLifeTime=50',
      'POST /v1/channels/p/c',
      'DELETE /v1/sessions/p%3Fq'
    ])
    expect(bodies).toEqual(['{"text":"hi"}', '{"base64":"AA=="}'])
  })
})
