/**
 * Worker thread of FrameWriter (stamped-video.ts): writes numbered I420
 * frames at the frame rate into whichever named pipe the main thread says,
 * and posts each frame's number and capture time (its last byte in the pipe).
 * Synchronous on purpose: it sleeps with Atomics.wait (woken early by a new
 * command) and reads commands with receiveMessageOnPort, so its timing does
 * not depend on an event loop.
 */
import fs from 'node:fs'
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { makeFrames, nowMs, stampFrame, type FromWriter, type ToWriter, type VideoFormat } from './stamped-video.ts'

const RETRY_MS = 0.2
const IDLE_MS = 50

const { format, fifos, wake } = workerData as { format: VideoFormat, fifos: Record<string, string>, wake: SharedArrayBuffer }
const port = parentPort
if (port === null) throw new Error('frame-writer-worker.ts runs as a worker thread')
const wakeWord = new Int32Array(wake)
const say = (m: FromWriter): void => { port.postMessage(m) }

function sleepUntil (due: number): void {
  const ms = due - nowMs()
  if (ms > 0) Atomics.wait(wakeWord, 0, Atomics.load(wakeWord, 0), ms)
}

/** Write all of `frame`; false if told to close meanwhile. */
function writeAll (fd: number, frame: Buffer, closing: () => boolean): boolean {
  let offset = 0
  while (offset < frame.length) {
    try {
      offset += fs.writeSync(fd, frame, offset, frame.length - offset)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      if (closing()) return false
      Atomics.wait(wakeWord, 0, Atomics.load(wakeWord, 0), RETRY_MS)
    }
  }
  return true
}

const fds = new Map<string, number>()
let feeding: string | null = null
let closed = false
function poll (): boolean {
  for (let m = receiveMessageOnPort(port as never); m !== undefined; m = receiveMessageOnPort(port as never)) {
    const message = m.message as ToWriter
    if ('close' in message) closed = true
    else feeding = message.feed
  }
  return closed
}

try {
  for (const [name, file] of Object.entries(fifos)) fds.set(name, fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK))
  const frames = makeFrames(format)
  say({ ready: true })
  const period = 1000 / format.fps
  let n = 0
  let due = nowMs()
  while (!poll()) {
    const target = feeding
    const fd = target === null ? undefined : fds.get(target)
    if (target === null || fd === undefined) {
      sleepUntil(nowMs() + IDLE_MS)
      due = nowMs()
      continue
    }
    const frame = frames[n % frames.length]
    stampFrame(frame, format.width, n & 0xffff)
    if (!writeAll(fd, frame, poll)) break
    const at = nowMs()
    say({ n: n & 0xffff, target, at })
    n++
    // a write that waited past the next slot: go on from now rather than catch up in a burst
    due = Math.max(due + period, at)
    while (nowMs() < due && !poll()) sleepUntil(due)
  }
} catch (err) {
  say({ error: err instanceof Error ? err.message : String(err) })
} finally {
  for (const fd of fds.values()) { try { fs.closeSync(fd) } catch {} }
}
