import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { GstProcess } from '../../src/media/gst-process.ts'
import { hasSetpriv } from '../../src/media/parent-death.ts'
import type { MissingElementError, PipelineError, PipelineStartTimeoutError } from '../../src/util/errors.ts'
import { isAlive, waitFor } from '../helpers/media-processes.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node')
const LIVE = 'videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 ! fakesink'

const running: GstProcess[] = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async p => await p.stop()))
  await Promise.all(cleanups.splice(0).map(async c => await c()))
})

function gst (init: ConstructorParameters<typeof GstProcess>[0]): GstProcess {
  const proc = new GstProcess(init)
  running.push(proc)
  return proc
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

/** A stand-in for gst-launch that reports PLAYING and then ignores the given signals. */
async function stubbornLaunch (ignore: string): Promise<string> {
  const { dir, cleanup } = await makeTempDir('edge-media-')
  cleanups.push(cleanup)
  const file = path.join(dir, 'fake-gst-launch')
  await fs.writeFile(file, `#!/bin/sh\ntrap '' ${ignore}\necho 'Got message #38 from element "pipeline0" (state-changed): GstMessageStateChanged, old-state=(GstState)paused, new-state=(GstState)playing, pending-state=(GstState)void-pending;'\nwhile true; do sleep 0.05; done\n`, { mode: 0o755 })
  return file
}

describe('GstProcess', () => {
  it('starts a pipeline, reports PLAYING and stops it with EOS (SIGINT)', async () => {
    const proc = gst({ label: 'live', pipeline: LIVE })
    const lines: string[] = []
    proc.on('line', line => lines.push(line))
    let started = 0
    proc.on('started', pid => { started = pid })
    const exits: Array<[number | null, string | null]> = []
    proc.on('exit', (code, signal) => exits.push([code, signal]))
    await proc.start()
    expect(proc.state).toBe('running')
    expect(started).toBe(proc.pid)
    expect(isAlive(started)).toBe(true)
    await Promise.all([proc.stop(), proc.stop()])
    expect(proc.state).toBe('stopped')
    expect(isAlive(started)).toBe(false)
    // exit code 0 after "EOS on shutdown": the SIGINT reached gst-launch -e
    expect(exits).toEqual([[0, null]])
    expect(lines.join('\n')).toMatch(/EOS on shutdown enabled/)
    await proc.stop()
  })

  it('rejects with the stderr tail when gst-launch exits before PLAYING', async () => {
    const proc = gst({ label: 'broken', pipeline: 'filesrc location=/nonexistent/edge-stack.bin ! fakesink' })
    const err = await rejection(proc.start()) as PipelineError
    expect(err.name).toBe('PipelineError')
    expect(err.exitCode).toBeGreaterThan(0)
    expect(err.stderrTail).toMatch(/edge-stack\.bin/)
    expect(err.message).toContain(err.stderrTail)
    expect(proc.state).toBe('stopped')
  })

  it('turns "no element" into MissingElementError naming the Debian package when known', async () => {
    const fake = await rejection(gst({ label: 'fake', pipeline: 'videotestsrc ! edgestacknosuchenc ! fakesink' }).start()) as MissingElementError
    expect(fake.name).toBe('MissingElementError')
    expect(fake.element).toBe('edgestacknosuchenc')
    expect(fake.package).toBeUndefined()
    // really missing on Debian 12: the AV1 payloader lives in gst-plugins-rs
    const av1 = await rejection(gst({ label: 'av1', pipeline: 'videotestsrc ! av1enc ! rtpav1pay ! fakesink' }).start()) as MissingElementError
    expect(av1.name).toBe('MissingElementError')
    expect(av1.element).toBe('rtpav1pay')
    expect(av1.message).toContain('gst-plugins-rs')
  })

  it('times out a start that never reaches its ready line and kills the child', async () => {
    const proc = gst({ label: 'slow', pipeline: LIVE, readyLine: /never printed/, startTimeoutMs: 700 })
    let pid = 0
    proc.on('exit', () => { pid = -1 })
    const started = Date.now()
    const err = await rejection(proc.start()) as PipelineStartTimeoutError
    expect(err.name).toBe('PipelineStartTimeoutError')
    expect(err.timeoutMs).toBe(700)
    expect(Date.now() - started).toBeGreaterThanOrEqual(650)
    expect(pid).toBe(-1)
  })

  it('restarts with back-off after the child is killed', async () => {
    const proc = gst({ label: 'victim', pipeline: LIVE, restartInitialMs: 300 })
    await proc.start()
    const first = proc.pid!
    const events: string[] = []
    let exitAt = 0
    let restartAt = 0
    proc.on('exit', (_code, signal) => { events.push(`exit ${String(signal)}`); exitAt = Date.now() })
    proc.on('restart', attempt => { events.push(`restart ${attempt}`); restartAt = Date.now() })
    const restarted = new Promise<number>(resolve => proc.once('started', resolve))
    process.kill(first, 'SIGKILL')
    const second = await restarted
    expect(second).not.toBe(first)
    expect(events).toEqual(['exit SIGKILL', 'restart 1'])
    expect(restartAt - exitAt).toBeGreaterThanOrEqual(300 * 0.8 - 5)
    expect(proc.state).toBe('running')
    expect(isAlive(second)).toBe(true)
  })

  it('gives up with "failed" after maxRestarts consecutive failures', async () => {
    // reaches PLAYING, then ends at once (EOS after one buffer): an unexpected exit every time
    const proc = gst({ label: 'flaky', pipeline: 'videotestsrc num-buffers=1 ! fakesink', restartInitialMs: 50, maxRestarts: 2 })
    const attempts: number[] = []
    proc.on('restart', attempt => attempts.push(attempt))
    const failed = new Promise<Error>(resolve => proc.once('failed', resolve))
    await proc.start()
    const err = await failed as PipelineError
    expect(err.name).toBe('PipelineError')
    expect(attempts).toEqual([1, 2])
    expect(proc.state).toBe('failed')
  })

  it('escalates to SIGTERM when SIGINT is ignored, and to SIGKILL when SIGTERM is too', async () => {
    for (const [ignore, expected] of [['INT', 'SIGTERM'], ['INT TERM', 'SIGKILL']] as const) {
      const proc = gst({ label: 'stubborn', pipeline: 'fake', gstLaunch: await stubbornLaunch(ignore), eosTimeoutMs: 300, termTimeoutMs: 300 })
      await proc.start()
      const pid = proc.pid!
      let signal: string | null = null
      proc.on('exit', (_code, s) => { signal = s })
      const started = Date.now()
      await proc.stop()
      expect(signal).toBe(expected)
      expect(Date.now() - started).toBeGreaterThanOrEqual(expected === 'SIGTERM' ? 280 : 580)
      expect(isAlive(pid)).toBe(false)
    }
  })

  it('leaves no gst child behind when its parent is killed with SIGKILL', async () => {
    expect(hasSetpriv()).toBe(true)
    const parent = spawn(NODE, [path.join(ROOT, 'test', 'helpers', 'media-gst-parent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout! }).once('line', resolve)
      parent.once('exit', code => reject(new Error(`parent exited with ${String(code)}`)))
    })
    const { gstPid } = JSON.parse(line) as { gstPid: number }
    expect(isAlive(gstPid)).toBe(true)
    // gst-launch itself (setpriv exec'd it), child of the parent, leading its own process group
    const stat = await fs.readFile(`/proc/${gstPid}/stat`, 'utf8')
    expect(stat).toContain('(gst-launch-1.0)')
    const [ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 4).split(' ').map(Number)
    expect(ppid).toBe(parent.pid)
    expect(pgrp).toBe(gstPid)
    const killedAt = Date.now()
    process.kill(parent.pid!, 'SIGKILL')
    expect(await waitFor(() => !isAlive(gstPid), 1_000)).toBe(true)
    expect(Date.now() - killedAt).toBeLessThan(1_000)
  })
})
