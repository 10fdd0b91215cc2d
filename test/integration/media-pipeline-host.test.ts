import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_PYTHON, PIPELINE_HOST_SCRIPT, PipelineHost } from '../../src/media/pipeline-host.ts'
import type { MissingElementError, PipelineCommandError, PipelineNotRunningError, VideoFormatUnsupportedError } from '../../src/util/errors.ts'
import { isAlive, rejection, waitFor } from '../helpers/media-processes.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node')
const LIVE = 'videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 ! queue ! identity name=probe ! fakesink name=out'

const running: PipelineHost[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async h => await h.stop()))
})

function host (init: Partial<ConstructorParameters<typeof PipelineHost>[0]> = {}): PipelineHost {
  const h = new PipelineHost({ label: 'test host', pipeline: LIVE, count: ['probe'], ...init })
  running.push(h)
  return h
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

describe('PipelineHost (pipeline-host.py on GStreamer\'s Python bindings)', () => {
  it('sets properties, changes caps and counts buffers while the pipeline plays', async () => {
    const h = host()
    await h.start()
    const pid = h.pid
    expect(await h.request({ cmd: 'set', element: 'out', property: 'sync', value: true })).toEqual({ value: true })
    // by factory name when no element has that name
    expect(await h.request({ cmd: 'set', element: 'videotestsrc', property: 'pattern', value: 18 })).toEqual({ value: 18 })
    expect(await h.request({ cmd: 'caps', before: 'probe', caps: 'video/x-raw,width=80,height=60,framerate=15/1' })).toMatchObject({ caps: expect.stringContaining('width=(int)80') })
    const deadline = Date.now() + 2_000
    while ((await h.request({ cmd: 'stats', properties: [], caps: ['probe'] })).caps.probe?.width !== 80 && Date.now() < deadline) await sleep(50)
    const stats = await h.request({ cmd: 'stats', properties: [['out', 'sync'], ['nope', 'x']], caps: ['probe'] })
    expect(stats.caps.probe).toMatchObject({ media: 'video/x-raw', width: 80, height: 60, fps: 15 })
    expect(stats.counters.probe.framesIn).toBeGreaterThan(0)
    expect(stats.counters.probe.framesOut).toBe(stats.counters.probe.framesIn)
    expect(stats.properties).toEqual({ 'out.sync': true })
    expect(h.pid).toBe(pid) // nothing restarted
  })

  it('refuses bad commands by name and keeps playing', async () => {
    const h = host()
    await h.start()
    const noElement = await rejection(h.request({ cmd: 'set', element: 'nope', property: 'x', value: 1 })) as PipelineCommandError
    expect(noElement.name).toBe('PipelineCommandError')
    expect(noElement.reason).toBe('UnknownElementError')
    const noProperty = await rejection(h.request({ cmd: 'set', element: 'out', property: 'bitrate', value: 1 })) as PipelineCommandError
    expect(noProperty.reason).toBe('UnknownPropertyError')
    const badValue = await rejection(h.request({ cmd: 'set', element: 'out', property: 'sync', value: 'maybe' })) as PipelineCommandError
    expect(badValue.reason).toBe('HostCommandError')
    // a capsfilter that cannot be satisfied by what is upstream of it
    const h2 = host({ pipeline: 'audiotestsrc is-live=true ! audio/x-raw,rate=48000 ! queue ! identity name=probe ! fakesink' })
    await h2.start()
    const unsupported = await rejection(h2.request({ cmd: 'caps', before: 'probe', caps: 'video/x-raw,width=80' })) as VideoFormatUnsupportedError
    expect(unsupported.name).toBe('VideoFormatUnsupportedError')
    expect(await h.request({ cmd: 'stats', properties: [], caps: [] })).toHaveProperty('counters')
    expect(h.state).toBe('running')
  })

  it('names a missing element, and a command to a stopped host is PipelineNotRunningError', async () => {
    const missing = await rejection(host({ pipeline: 'videotestsrc ! nosuchelement ! fakesink' }).start()) as MissingElementError
    expect(missing.name).toBe('MissingElementError')
    expect(missing.element).toBe('nosuchelement')
    const h = host()
    await h.start()
    await h.stop()
    expect((await rejection(h.request({ cmd: 'eos' })) as PipelineNotRunningError).name).toBe('PipelineNotRunningError')
  })

  it('stops with EOS, restarts after a crash, and answers again', async () => {
    const h = host({ restartInitialMs: 100 })
    await h.start()
    const first = h.pid!
    const playing = new Promise(resolve => h.once('playing', resolve))
    process.kill(first, 'SIGKILL')
    await playing
    expect(h.pid).not.toBe(first)
    expect((await h.request({ cmd: 'stats', properties: [], caps: [] })).counters).toHaveProperty('probe')
    const exited = new Promise<number | null>(resolve => h.once('exit', code => resolve(code)))
    const before = Date.now()
    await h.stop()
    expect(await exited).toBe(0) // EOS went through: no SIGTERM/SIGKILL needed
    expect(Date.now() - before).toBeLessThan(2_000)
  })

  it('answers a malformed line with a refusal and exits when its stdin closes', async () => {
    const child = spawn(DEFAULT_PYTHON, [PIPELINE_HOST_SCRIPT, '--', 'videotestsrc', 'is-live=true', '!', 'fakesink'], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines: string[] = []
    createInterface({ input: child.stdout }).on('line', l => lines.push(l))
    await waitFor(() => lines.some(l => l.startsWith('{"event":"playing"')), 5_000)
    child.stdin.write('not json\n{"id":9,"cmd":"reboot"}\n')
    await waitFor(() => lines.length >= 3, 2_000)
    expect(JSON.parse(lines[1])).toMatchObject({ id: null, ok: false, error: { name: 'HostCommandError' } })
    expect(JSON.parse(lines[2])).toMatchObject({ id: 9, ok: false, error: { name: 'HostCommandError' } })
    const code = new Promise<number | null>(resolve => child.once('exit', resolve))
    child.stdin.end()
    expect(await code).toBe(0)
    expect(lines.at(-1)).toBe('{"event":"eos"}')
  })

  it('dies with the daemon, even on SIGKILL', async () => {
    const parent = spawn(NODE, [path.join(ROOT, 'test', 'helpers', 'media-host-parent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout }).once('line', resolve)
      parent.once('exit', code => reject(new Error(`parent exited with ${String(code)}`)))
    })
    const { hostPid } = JSON.parse(line) as { hostPid: number }
    expect(isAlive(hostPid)).toBe(true)
    const stat = await fs.readFile(`/proc/${hostPid}/stat`, 'utf8')
    const [ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 4).split(' ').map(Number)
    expect(ppid).toBe(parent.pid)
    expect(pgrp).toBe(hostPid)
    process.kill(parent.pid!, 'SIGKILL')
    expect(await waitFor(() => !isAlive(hostPid), 1_000)).toBe(true)
  })
})
