import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeersResponse, SessionInfo } from '../../src/daemon/api-types.ts'
import { json, startFakeDaemon, type FakeDaemon } from './cli-fake-daemon.ts'
import { channelStats, fakeSessionApi, sessionInfo, type FakeSessionInit } from './cli-fake-sessions.ts'
import { child, edgectl, startEdgectl, until } from './cli-run.ts'

const ARM = '12D3KooWArmLeftPeerIdThatIsLongEnoughToBeRealistic0001'
const BASE = '12D3KooWBasePeerIdThatIsLongEnoughToBeRealistic00002'
const NEW = '12D3KooWNewPeerIdNobodyHasASessionWithYetXXXXXXXXXXX'

const CONNECTED: SessionInfo = sessionInfo(ARM, {
  name: 'arm-left',
  session: 'a1b2',
  state: 'connected',
  profile: 'media',
  role: 'offerer',
  pair: { local: { type: 'host', address: '127.0.0.1', port: 5000, transport: 'UDP' }, remote: { type: 'host', address: '127.0.0.1', port: 6000, transport: 'UDP' } },
  rttMs: 0.42,
  bytesSent: 1536,
  bytesReceived: 2 * 1024 * 1024,
  channels: [channelStats('control'), channelStats('telemetry')],
  connectedAt: '2025-01-01T12:00:00.000Z',
  attempts: 1
})
const IDLE: SessionInfo = sessionInfo(BASE, { attempts: 3, lastError: { code: 'ice-failed', message: 'ICE failed' } })

let fake: FakeDaemon | undefined
afterEach(async () => { await fake?.close(); fake = undefined })

async function daemonWithSessions (init: FakeSessionInit = {}): Promise<ReturnType<typeof fakeSessionApi>> {
  const api = fakeSessionApi({ sessions: [structuredClone(CONNECTED), structuredClone(IDLE)], ...init })
  fake = await startFakeDaemon(api.routes)
  return api
}

describe('edgectl sessions', () => {
  it('--json prints exactly the response body', async () => {
    await daemonWithSessions()
    const run = await edgectl(['--socket', fake!.socket, 'sessions', '--json'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(JSON.stringify({ sessions: [CONNECTED, IDLE] }, null, 2) + '\n')
  })

  it('prints a table: full peer id, pair, RTT, human bytes, channel labels, - for what is unknown', async () => {
    await daemonWithSessions()
    const { code, stdout } = await edgectl(['--socket', fake!.socket, 'sessions'])
    expect(code).toBe(0)
    const [header, first, second, rest] = stdout.split('\n')
    expect(header.split(/\s{2,}/)).toEqual(['PEER', 'NAME', 'STATE', 'PROFILE', 'ROLE', 'PAIR', 'RTT', 'SENT/RECV', 'CHANNELS'])
    expect(first.split(/\s{2,}/)).toEqual([
      ARM, 'arm-left', 'connected', 'media', 'offerer', 'host 127.0.0.1:5000 → host 127.0.0.1:6000', '0.4 ms', '1.5 KiB / 2.0 MiB', 'control,telemetry'
    ])
    expect(second.split(/\s{2,}/)).toEqual([BASE, '-', 'idle', 'webrtc', '-', '-', '-', '0 B / 0 B', '-'])
    expect(first.indexOf('host 127')).toBe(header.indexOf('PAIR'))
    expect(second.indexOf('0 B / 0 B')).toBe(header.indexOf('SENT/RECV'))
    expect(rest).toBe('')
  })

  it('says so when there are none', async () => {
    fake = await startFakeDaemon(fakeSessionApi().routes)
    expect(await edgectl(['--socket', fake.socket, 'sessions'])).toEqual({ code: 0, stdout: 'no sessions\n', stderr: '' })
  })
})

describe('edgectl connect / disconnect', () => {
  it('asks edged for a session and says it is connecting; --json prints the 202 body', async () => {
    const api = await daemonWithSessions()
    const run = await edgectl(['--socket', fake!.socket, 'connect', NEW])
    expect(run).toEqual({ code: 0, stdout: `connecting to ${NEW} (connecting)\n`, stderr: '' })
    expect(fake!.seen).toEqual(['POST /v1/sessions'])
    expect(api.sessions.get(NEW)?.state).toBe('connecting')

    const again = await edgectl(['--socket', fake!.socket, 'connect', BASE, '--json'])
    expect(again.code).toBe(0)
    expect(again.stdout).toBe(JSON.stringify({ ...IDLE, state: 'connecting', role: 'offerer', session: 's-1', attempts: 4 }, null, 2) + '\n')
  })

  it('--wait polls the session every 100 ms until it is connected', async () => {
    const api = await daemonWithSessions({ connectedAfterPolls: 4 })
    const run = await edgectl(['--socket', fake!.socket, 'connect', NEW, '--wait'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`connecting to ${NEW} (connecting)\nconnected to ${NEW} (host 127.0.0.1:5000 → host 127.0.0.1:6000)\n`)
    expect(fake!.seen).toEqual(['POST /v1/sessions', ...Array(4).fill(`GET /v1/sessions/${NEW}`)])
    const gaps = api.polls.slice(1).map((t, i) => t - api.polls[i])
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(90)
  })

  it('--wait --json prints only the connected session', async () => {
    await daemonWithSessions({ connectedAfterPolls: 1 })
    const run = await edgectl(['--socket', fake!.socket, '--json', 'connect', NEW, '--wait'])
    expect(run.code).toBe(0)
    const body = JSON.parse(run.stdout) as SessionInfo
    expect(body.peer).toBe(NEW)
    expect(body.state).toBe('connected')
  })

  it('--wait gives up after --timeout seconds with exit 1 and says where the session got to', async () => {
    await daemonWithSessions()
    const started = Date.now()
    const run = await edgectl(['--socket', fake!.socket, 'connect', BASE, '--wait', '--timeout', '0.3'])
    const took = Date.now() - started
    expect(run.code).toBe(1)
    expect(run.stdout).toBe(`connecting to ${BASE} (connecting)\n`)
    expect(run.stderr).toBe(`error: TimeoutError: ${BASE} did not connect within 0.3 s (state connecting; last error ice-failed: ICE failed)\n`)
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(2000)
  })

  it('rejects a --timeout that is not a positive number (usage, exit 2)', async () => {
    for (const bad of ['abc', '0', '-1', '']) {
      const run = await edgectl(['--socket', '/nonexistent', 'connect', NEW, '--wait', '--timeout', bad])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain('expected a number of seconds above 0')
    }
  })

  it('disconnects, and says NotFoundError with exit 1 when there is no such session', async () => {
    const api = await daemonWithSessions()
    expect(await edgectl(['--socket', fake!.socket, 'disconnect', ARM])).toEqual({ code: 0, stdout: `disconnected ${ARM}\n`, stderr: '' })
    expect(fake!.seen).toEqual([`DELETE /v1/sessions/${ARM}`])
    expect(api.sessions.has(ARM)).toBe(false)
    expect(await edgectl(['--socket', fake!.socket, 'disconnect', ARM])).toEqual({ code: 1, stdout: '', stderr: `error: NotFoundError: no session with ${ARM}\n` })
    const asJson = await edgectl(['--socket', fake!.socket, 'disconnect', BASE, '--json'])
    expect(asJson.code).toBe(0)
    expect(asJson.stdout).toBe(JSON.stringify({ peer: BASE, disconnected: true }, null, 2) + '\n')
  })
})

describe('edgectl send', () => {
  it('posts TEXT on the control channel and prints nothing; --json prints the 202 body', async () => {
    const api = await daemonWithSessions()
    expect(await edgectl(['--socket', fake!.socket, 'send', ARM, 'hello robot'])).toEqual({ code: 0, stdout: '', stderr: '' })
    expect(fake!.seen).toEqual([`POST /v1/channels/${ARM}/control`])
    const run = await edgectl(['--socket', fake!.socket, 'send', ARM, 'héllo', '--channel', 'telemetry', '--json'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(JSON.stringify({ peer: ARM, channel: 'telemetry', bytes: 6 }, null, 2) + '\n')
    expect(api.sent).toEqual([
      { peer: ARM, channel: 'control', body: { text: 'hello robot' }, query: '' },
      { peer: ARM, channel: 'telemetry', body: { text: 'héllo' }, query: '' }
    ])
  })

  it('--base64 sends binary; channel options go in the query', async () => {
    const api = await daemonWithSessions()
    const run = await edgectl(['--socket', fake!.socket, 'send', ARM, 'AAEC/w==', '--base64', '--channel', 'pose', '--unordered', '--max-retransmits', '0'])
    expect(run.code).toBe(0)
    const lifetime = await edgectl(['--socket', fake!.socket, 'send', ARM, 'x', '--channel', 'pose2', '--max-packet-lifetime', '150'])
    expect(lifetime.code).toBe(0)
    expect(api.sent).toEqual([
      { peer: ARM, channel: 'pose', body: { base64: 'AAEC/w==' }, query: 'ordered=false&maxRetransmits=0' },
      { peer: ARM, channel: 'pose2', body: { text: 'x' }, query: 'maxPacketLifeTime=150' }
    ])
  })

  it('says NotFoundError with exit 1 when the peer has no connected session', async () => {
    await daemonWithSessions()
    const run = await edgectl(['--socket', fake!.socket, 'send', BASE, 'hi'])
    expect(run).toEqual({ code: 1, stdout: '', stderr: `error: NotFoundError: no connected session with ${BASE}\n` })
  })

  it('--stdin sends each line as one message, in order, one request at a time', async () => {
    const api = await daemonWithSessions({ sendDelayMs: 20 })
    const lines = ['one', 'two', '', 'four with spaces', 'five']
    const run = await edgectl(['--socket', fake!.socket, 'send', ARM, '--stdin', '--json'], { stdin: lines.slice(0, 3).join('\n') + '\r\n' + lines.slice(3).join('\n') })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(api.sent.map(m => m.body)).toEqual(lines.map(text => ({ text })))
    expect(api.maxInFlight()).toBe(1)
    // --json with many messages: one compact 202 body per line.
    expect(run.stdout.trimEnd().split('\n').map(l => JSON.parse(l))).toEqual(lines.map(l => ({ peer: ARM, channel: 'control', bytes: Buffer.byteLength(l) })))
  })

  it('stops at the first failed line with exit 1', async () => {
    const api = await daemonWithSessions()
    const run = await edgectl(['--socket', fake!.socket, 'send', BASE, '--stdin'], { stdin: 'a\nb\n' })
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`error: NotFoundError: no connected session with ${BASE}\n`)
    expect(api.sent).toEqual([])
    expect(fake!.seen).toEqual([`POST /v1/channels/${BASE}/control`])
  })

  it('needs exactly one of TEXT and --stdin, and sane channel options (usage, exit 2)', async () => {
    for (const args of [['send', ARM], ['send', ARM, 'x', '--stdin'], ['send', ARM, 'x', '--max-retransmits', '-1'], ['send', ARM, 'x', '--max-packet-lifetime', '0'], ['send']]) {
      const run = await edgectl(['--socket', '/nonexistent', ...args], { stdin: 'x\n' })
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
    }
  })
})

describe('edgectl listen', () => {
  const message = (data: unknown): string => `event: message\ndata: ${JSON.stringify(data)}\n\n`

  it('--json prints each message of the channel as one JSON line until interrupted (exit 0)', async () => {
    fake = await startFakeDaemon({})
    const interrupt = new AbortController()
    const running = startEdgectl(['--socket', fake.socket, 'listen', '--json'], { interrupt })
    const stream = await fake.stream(0)
    expect(fake.seen).toEqual(['GET /v1/messages?channel=control'])
    stream.write(message({ peer: ARM, channel: 'control', text: 'hi' }))
    stream.write('event: other\ndata: {"peer":"x","channel":"control","text":"not a message event"}\n\n')
    stream.write(message({ peer: BASE, channel: 'control', base64: 'AAEC' }))
    await until(() => running.out().split('\n').length === 3)
    interrupt.abort()
    const run = await running.done
    expect(run).toEqual({
      code: 0,
      stdout: JSON.stringify({ peer: ARM, channel: 'control', text: 'hi' }) + '\n' + JSON.stringify({ peer: BASE, channel: 'control', base64: 'AAEC' }) + '\n',
      stderr: ''
    })
  })

  it('prints `PEER NAME: text` in arrival order, binary as a size and a base64 preview; exit 1 when edged ends the stream', async () => {
    const peers: PeersResponse = {
      peers: [{ peerId: ARM, instance: 'i', name: 'arm-left', version: '0.1.0', stack: 'webrtc', sources: [], addresses: [], lastSeen: new Date().toISOString(), connected: true }]
    }
    fake = await startFakeDaemon({ 'GET /v1/peers': (_req, res) => { json(res, 200, peers) } })
    const running = edgectl(['--socket', fake.socket, 'listen', '--channel', 'telemetry'])
    const stream = await fake.stream(0)
    const long = Buffer.alloc(100, 7).toString('base64')
    stream.end(
      message({ peer: ARM, channel: 'telemetry', text: 'pose 1 2 3' }) +
      message({ peer: NEW, channel: 'telemetry', text: 'two\nlines' }) +
      message({ peer: ARM, channel: 'telemetry', base64: 'aGVsbG8=' }) +
      message({ peer: NEW, channel: 'telemetry', base64: long })
    )
    const run = await running
    expect(run.stdout.split('\n')).toEqual([
      `${ARM} arm-left: pose 1 2 3`,
      `${NEW}: two\\nlines`,
      `${ARM} arm-left: <5 bytes base64 aGVsbG8=>`,
      `${NEW}: <100 bytes base64 ${long.slice(0, 24)}…>`,
      ''
    ])
    // Names are looked up once per peer not seen before.
    expect(fake.seen).toEqual(['GET /v1/messages?channel=telemetry', 'GET /v1/peers', 'GET /v1/peers'])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe('error: StreamClosedError: edged closed the message stream\n')
  })

  it('passes edged\'s error for a bad channel label through (exit 1)', async () => {
    fake = await startFakeDaemon({
      'GET /v1/messages?channel=bad%20label': (_req, res) => { json(res, 400, { error: { name: 'BadRequestError', message: 'body: channel labels are 1-64 letters, digits, . _ -' } }) }
    })
    const run = await edgectl(['--socket', fake.socket, 'listen', '--channel', 'bad label'])
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'error: BadRequestError: body: channel labels are 1-64 letters, digits, . _ -\n' })
  })
})

describe('edgectl session commands without a daemon', () => {
  it('each says edged is not running and exits 1', async () => {
    fake = await startFakeDaemon({})
    const socket = path.join(fake.dir, 'nothing-here.sock')
    const commands = [['sessions'], ['connect', ARM], ['connect', ARM, '--wait'], ['disconnect', ARM], ['send', ARM, 'hi'], ['send', ARM, '--stdin'], ['listen'], ['listen', '--json']]
    for (const args of commands) {
      const run = await edgectl(['--socket', socket, ...args], { stdin: 'hi\n' })
      expect(run, args.join(' ')).toEqual({ code: 1, stdout: '', stderr: `edged is not running (socket ${socket})\n` })
    }
  })
})

describe('bin/edgectl session commands (child process)', () => {
  it('--help lists every command', async () => {
    const run = await child(['--help']).done
    expect(run.code).toBe(0)
    const commands = [...run.stdout.split('Commands:')[1].matchAll(/^ {2}(\w+)/gm)].map(m => m[1])
    expect(commands).toEqual(['status', 'peers', 'sources', 'watch', 'unwatch', 'record', 'sessions', 'connect', 'disconnect', 'send', 'listen', 'events', 'keygen', 'top', 'reload', 'help'])
  })

  it('send --stdin reads the process\'s stdin to its end', async () => {
    const api = fakeSessionApi({ sessions: [structuredClone(CONNECTED)] })
    fake = await startFakeDaemon(api.routes)
    const run = await child(['--socket', fake.socket, 'send', ARM, '--stdin', '--channel', 'cmd'], { stdin: 'forward 1\nstop\n' }).done
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(api.sent.map(m => [m.channel, m.body])).toEqual([['cmd', { text: 'forward 1' }], ['cmd', { text: 'stop' }]])
  })

  it('stops `listen` on SIGINT with exit 0', async () => {
    fake = await startFakeDaemon({})
    const c = child(['--socket', fake.socket, 'listen', '--json'])
    const stream = await fake.stream(0)
    stream.write(`event: message\ndata: ${JSON.stringify({ peer: ARM, channel: 'control', text: 'hi' })}\n\n`)
    await until(() => c.out().includes('\n'))
    c.proc.kill('SIGINT')
    const run = await c.done
    expect(run.signal).toBeNull()
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({ peer: ARM, channel: 'control', text: 'hi' })
  })
})
