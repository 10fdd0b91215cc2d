import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeersResponse, StatusResponse } from '../../src/daemon/api-types.ts'
import { json, startFakeDaemon, type FakeDaemon } from './cli-fake-daemon.ts'
import { child, edgectl, startEdgectl, until } from './cli-run.ts'

const STATUS: StatusResponse = {
  peerId: '12D3KooWQm9aRcWGfD4XBNXpAuVLx3b9yYUE5rBmk8Qj6jpBLrJz', name: 'robot-1', version: '0.1.0', swarm: 'lab', stack: 'media',
  addresses: ['/ip4/127.0.0.1/tcp/7420/p2p/12D3KooWQm9a', '/ip4/10.0.0.5/tcp/7420/p2p/12D3KooWQm9a'],
  web: '127.0.0.1:8090', foxglove: null, pid: 4242, uptimeS: 3725, peers: 2, sessions: 1, config: '/etc/edged/edged.yaml'
}

const PEERS: PeersResponse = {
  peers: [
    {
      peerId: '12D3KooWLongPeerIdThatPeopleCopyIntoConnectCommands1', instance: 'i-1', name: 'arm-left', version: '0.1.0', stack: 'webrtc',
      sources: [{ name: 'video', kind: 'video', codec: 'H264' }, { name: 'audio', kind: 'audio', codec: 'opus' }],
      addresses: [], lastSeen: new Date(Date.now() - 3000).toISOString(), connected: true
    },
    {
      peerId: '12D3KooWSecond', instance: 'i-2', name: 'base', version: '0.1.0', stack: 'data',
      sources: [], addresses: [], lastSeen: new Date(Date.now() - 125_000).toISOString(), connected: false
    }
  ]
}

let fake: FakeDaemon | undefined
afterEach(async () => { await fake?.close(); fake = undefined })

async function standardDaemon (): Promise<FakeDaemon> {
  return await startFakeDaemon({
    'GET /v1/status': (_req, res) => { json(res, 200, STATUS) },
    'GET /v1/peers': (_req, res) => { json(res, 200, PEERS) }
  })
}

describe('edgectl', () => {
  it('status --json and peers --json print exactly the response body, 2-space JSON', async () => {
    fake = await standardDaemon()
    const status = await edgectl(['--socket', fake.socket, 'status', '--json'])
    expect(status.code).toBe(0)
    expect(status.stdout).toBe(JSON.stringify(STATUS, null, 2) + '\n')
    const peers = await edgectl(['--json', '--socket', fake.socket, 'peers'])
    expect(peers.code).toBe(0)
    expect(JSON.parse(peers.stdout)).toEqual(PEERS)
    expect(peers.stdout).toBe(JSON.stringify(PEERS, null, 2) + '\n')
  })

  it('finds the socket through $EDGED_SOCKET', async () => {
    fake = await standardDaemon()
    const run = await edgectl(['status', '--json'], { env: { EDGED_SOCKET: fake.socket } })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).peerId).toBe(STATUS.peerId)
  })

  it('prints status as aligned key: value lines, one address per line', async () => {
    fake = await standardDaemon()
    const { code, stdout } = await edgectl(['--socket', fake.socket, 'status'])
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    expect(lines[0]).toBe(`peer id:   ${STATUS.peerId}`)
    expect(lines).toContain(`addresses: ${STATUS.addresses[0]}`)
    expect(lines).toContain(`           ${STATUS.addresses[1]}`)
    expect(lines).toContain('web:       127.0.0.1:8090')
    expect(lines).toContain('uptime:    1h 2m')
    for (const key of ['name', 'version', 'swarm', 'stack', 'peers', 'sessions']) {
      expect(lines.some(l => l.startsWith(`${key}:`))).toBe(true)
    }
  })

  it('prints peers as a table with full ids, names, sources and last seen', async () => {
    fake = await standardDaemon()
    const { code, stdout } = await edgectl(['--socket', fake.socket, 'peers'])
    expect(code).toBe(0)
    const [header, first, second] = stdout.trimEnd().split('\n')
    expect(header.split(/\s{2,}/)).toEqual(['PEER ID', 'NAME', 'STACK', 'SOURCES', 'CONNECTED', 'LAST SEEN'])
    expect(first.split(/\s{2,}/)).toEqual([PEERS.peers[0].peerId, 'arm-left', 'webrtc', 'video,audio', 'yes', '3s ago'])
    expect(second.split(/\s{2,}/)).toEqual(['12D3KooWSecond', 'base', 'data', '-', 'no', '2m ago'])
    // Columns line up under the header.
    expect(first.indexOf('arm-left')).toBe(header.indexOf('NAME'))
    expect(second.indexOf('no')).toBe(header.indexOf('CONNECTED'))
  })

  it('exits 1 with `error: NAME: message` when the daemon answers an error', async () => {
    fake = await startFakeDaemon({
      'GET /v1/status': (_req, res) => { json(res, 500, { error: { name: 'InternalError', message: 'swarm not started' } }) }
    })
    const run = await edgectl(['--socket', fake.socket, 'status'])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('error: InternalError: swarm not started\n')
  })

  it('exits 2 on usage errors and 0 on help', async () => {
    expect((await edgectl(['frobnicate'])).code).toBe(2)
    expect((await edgectl(['status', '--nope'])).code).toBe(2)
    expect((await edgectl(['--socket'])).code).toBe(2)
    expect((await edgectl([])).code).toBe(2)
    const help = await edgectl(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('status')
  })

  it('prints events live, one line each, JSON lines with --json, until interrupted', async () => {
    fake = await standardDaemon()
    const interrupt = new AbortController()
    const running = startEdgectl(['--socket', fake.socket, 'events', '--json'], { interrupt })
    const stream = await fake.stream(0)
    stream.write(`event: peer:discovered\ndata: ${JSON.stringify(PEERS.peers[0])}\n\n`)
    stream.write('event: peer:lost\ndata: {"peerId":"12D3KooWSecond",\ndata: "name":"base"}\n\n')
    await until(() => running.out().split('\n').length === 3)
    interrupt.abort()
    const run = await running.done
    expect(run.code).toBe(0)
    expect(run.stdout.trimEnd().split('\n').map(l => JSON.parse(l))).toEqual([
      { type: 'peer:discovered', data: PEERS.peers[0] },
      { type: 'peer:lost', data: { peerId: '12D3KooWSecond', name: 'base' } }
    ])

    const readable = edgectl(['--socket', fake.socket, 'events'])
    const second = await fake.stream(1)
    second.end(`event: peer:updated\ndata: ${JSON.stringify(PEERS.peers[1])}\n\n`)
    const ended = await readable
    expect(ended.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}peer:updated {2}12D3KooWSecond base stack=data connected=no\n$/)
    // edged ending the stream is a failure scripts must notice.
    expect(ended.code).toBe(1)
    expect(ended.stderr).toBe('error: StreamClosedError: edged closed the event stream\n')
  })
})

describe('bin/edgectl (child process)', () => {
  it('says edged is not running and exits 1 without a stack trace', async () => {
    fake = await startFakeDaemon({})
    const socket = path.join(fake.dir, 'nothing-here.sock')
    const run = await child(['--socket', socket, 'status']).done
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`edged is not running (socket ${socket})\n`)
  })

  it('prints status --json from a daemon, through the launcher', async () => {
    fake = await standardDaemon()
    const run = await child(['status', '--json'], { env: { EDGED_SOCKET: fake.socket } }).done
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual(STATUS)
  })

  it('stops `events` on SIGINT with exit 0 (signals reach node through exec)', async () => {
    fake = await standardDaemon()
    const c = child(['--socket', fake.socket, 'events', '--json'])
    const stream = await fake.stream(0)
    stream.write('event: peer:lost\ndata: {"peerId":"p"}\n\n')
    await until(() => c.out().includes('\n'))
    c.proc.kill('SIGINT')
    const run = await c.done
    expect(run.signal).toBeNull()
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ type: 'peer:lost', data: { peerId: 'p' } })
  })

  it('says permission denied on a socket the user may not open', async () => {
    fake = await standardDaemon()
    await fs.chmod(fake.dir, 0o755)
    await fs.chmod(fake.socket, 0o600)
    // As root, run as nobody: root opens any socket.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
    if (process.getuid?.() !== 0) await fs.chmod(fake.socket, 0o000)
    const run = await child(['--socket', fake.socket, 'status'], asNobody).done
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`permission denied on socket ${fake.socket} (are you in the edged group?)\n`)
  })
})
