import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RecordingInfo } from '../../src/daemon/api-types.ts'
import { formatRecordingStats, recordRequest } from '../../src/cli/commands/record.ts'
import { json, startFakeDaemon, type FakeDaemon } from './cli-fake-daemon.ts'
import { edgectl, startEdgectl, until } from './cli-run.ts'

const ARM = '12D3KooWLongPeerIdThatPeopleCopyIntoConnectCommands1'

const recording = (over: Partial<RecordingInfo> = {}): RecordingInfo => ({
  id: 'rec1',
  peer: ARM,
  file: '/data/run.mcap',
  state: 'recording',
  error: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  sources: [{ source: 'video', frames: 120, live: true, error: null }],
  channels: null,
  stats: { messages: 220, bytes: 3 * 1024 * 1024, channelMessages: 100, dropped: 0 },
  ...over
})

let fake: FakeDaemon | undefined
afterEach(async () => { await fake?.close(); fake = undefined })

describe('edgectl record', () => {
  it('posts the peer, sources, channels and the file made absolute; prints the id', async () => {
    const bodies: unknown[] = []
    fake = await startFakeDaemon({
      'POST /v1/record': (_req, res, body) => { bodies.push(JSON.parse(body)); json(res, 201, recording()) }
    })
    const run = await edgectl(['--socket', fake.socket, 'record', ARM, '--source', 'video', '--source', 'rear', '--channel', 'control', '--out', 'run.mcap'])
    expect(run).toEqual({ code: 0, stdout: 'rec1\n', stderr: '' })
    expect(bodies).toEqual([{ peer: ARM, sources: ['video', 'rear'], channels: ['control'], out: path.resolve('run.mcap') }])
    // Neither named: edged records all of them.
    expect(recordRequest(ARM, { out: 'x.mcap' }, '/home/me')).toEqual({ peer: ARM, out: '/home/me/x.mcap' })
  })

  it('--json prints the recording; an error from edged is its name and message, exit 1', async () => {
    fake = await startFakeDaemon({
      'POST /v1/record': (_req, res, body) => {
        if ((JSON.parse(body) as { out: string }).out.endsWith('taken.mcap')) json(res, 409, { error: { name: 'ConflictError', message: '/x/taken.mcap exists already: choose another file' } })
        else json(res, 201, recording())
      }
    })
    const ok = await edgectl(['--socket', fake.socket, '--json', 'record', ARM, '--out', '/x/run.mcap'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toEqual(recording())
    const refused = await edgectl(['--socket', fake.socket, 'record', ARM, '--out', '/x/taken.mcap'])
    expect(refused).toEqual({ code: 1, stdout: '', stderr: 'error: ConflictError: /x/taken.mcap exists already: choose another file\n' })
  })

  it('needs --out (usage error, exit 2, nothing sent)', async () => {
    fake = await startFakeDaemon({})
    const run = await edgectl(['--socket', fake.socket, 'record', ARM])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--out')
    expect(fake.seen).toEqual([])
  })

  it('--follow prints stats each second until interrupted, then stops the recording (the file is finalised)', async () => {
    fake = await startFakeDaemon({
      'POST /v1/record': (_req, res) => { json(res, 201, recording({ stats: { messages: 0, bytes: 0, channelMessages: 0, dropped: 0 } })) },
      'GET /v1/record/rec1': (_req, res) => { json(res, 200, recording()) },
      'DELETE /v1/record/rec1': (_req, res) => { json(res, 200, recording()) }
    })
    const interrupt = new AbortController()
    const running = startEdgectl(['--socket', fake.socket, 'record', ARM, '--out', '/data/run.mcap', '--follow'], { interrupt })
    await until(() => running.out().split('\n').length >= 3)
    interrupt.abort()
    const run = await running.done
    expect(run.code).toBe(0)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe(`rec1 recording ${ARM} into /data/run.mcap`)
    expect(lines[1]).toBe('recording frames video=120 channel-messages=100 messages=220 3.0 MiB dropped=0')
    expect(lines.at(-1)).toBe('finalised /data/run.mcap: 220 messages, 3.0 MiB')
    expect(fake.seen.at(-1)).toBe('DELETE /v1/record/rec1')
  })

  it('stats say which source waits for its feed, and why the recording failed', () => {
    const line = formatRecordingStats(recording({
      state: 'failed',
      error: { name: 'Error', message: 'ENOSPC: no space left on device' },
      sources: [{ source: 'video', frames: 3, live: false, error: { name: 'NotFoundError', message: 'gone' } }]
    }))
    expect(line).toBe('failed frames video=3 (waiting) channel-messages=100 messages=220 3.0 MiB dropped=0 error=Error: ENOSPC: no space left on device\n')
  })

  it('edgectl unwatch ID stops a recording like a watch (DELETE /v1/watch/:id)', async () => {
    fake = await startFakeDaemon({ 'DELETE /v1/watch/rec1': (_req, res) => { res.writeHead(204); res.end() } })
    const run = await edgectl(['--socket', fake.socket, 'unwatch', 'rec1'])
    expect(run).toEqual({ code: 0, stdout: 'stopped watch rec1\n', stderr: '' })
  })
})
