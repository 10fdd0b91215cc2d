/**
 * Raw video frames that carry their own number, for measuring frame latency
 * through a lossy encoder: the top STRIP_ROWS rows of the luma plane hold
 * 16 bits of a frame counter and their complement as 40-pixel-wide black or
 * white blocks (the complement tells a misread frame from a real one); below
 * is a scrolling pattern with fresh noise in every frame, so the encoder
 * spends its whole bit rate as it would on a camera.
 *
 * Frames are GRAY8 (luma only: 921,600 bytes at 720p, less than the 1 MiB a
 * pipe can be made to hold, so a frame goes through in one write and one
 * read); the source pipeline's videoconvert makes them I420 for the encoder.
 * A writer feeds them into a named pipe that a GStreamer pipeline reads
 * (`filesrc location=FIFO ! rawvideoparse …`), paced at the frame rate; a
 * reader decodes only the strip (`videocrop` keeps the top rows).
 */
import { execFileSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'

/**
 * Monotonic milliseconds (CLOCK_MONOTONIC through process.hrtime), the same
 * clock in every thread: performance.now() has a time origin per thread.
 */
export function nowMs (): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export const STRIP_ROWS = 16
const BITS = 16
const BLOCKS = BITS * 2
const WHITE = 235
const BLACK = 16
/** Precomputed frames, cycled (each is stamped just before it is written). */
const DISTINCT_FRAMES = 15

export interface VideoFormat {
  width: number
  height: number
  fps: number
}

/** Bytes of one I420 frame (even width and height). */
export function i420Bytes (width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2)
}

/** Bytes of one frame as written (GRAY8). */
export function frameBytes (f: VideoFormat): number {
  return f.width * f.height
}

/** The gst-launch source part that reads these frames from `fifo`. */
export function fifoSourceDescription (fifo: string, f: VideoFormat): string {
  return `filesrc location=${fifo} blocksize=${frameBytes(f)} ! ` +
    `rawvideoparse width=${f.width} height=${f.height} format=gray8 framerate=${f.fps}/1`
}

/** The gst-launch tail after a decoder that hands the strip of every decoded frame to stdout. */
export function stripToStdoutDescription (f: VideoFormat): string {
  return `videocrop bottom=${f.height - STRIP_ROWS} ! video/x-raw,format=I420,width=${f.width},height=${STRIP_ROWS} ! fdsink fd=1 sync=false`
}

export function makeFifo (path: string): void {
  execFileSync('mkfifo', ['-m', '0600', path])
}

/** Linux fcntl commands (not in Node's fs.constants). */
const F_SETPIPE_SZ = 1031
export const PIPE_BYTES = 1024 * 1024

/**
 * Make the pipe behind `fifo` hold PIPE_BYTES (1 MiB, the unprivileged
 * maximum) instead of 64 KiB, so a frame needs no back-and-forth between
 * writer and reader. Node has no fcntl: perl (essential on Debian) does it.
 * The size stays while someone holds the pipe open (the writer does).
 * False if it could not.
 */
export function enlargePipe (fifo: string): boolean {
  try {
    execFileSync('perl', ['-e', `open(my $f, '+<', $ARGV[0]) or die "$!"; fcntl($f, ${F_SETPIPE_SZ}, ${PIPE_BYTES}) or die "$!"`, fifo], { stdio: ['ignore', 'ignore', 'pipe'] })
    return true
  } catch {
    return false
  }
}

function blockWidth (width: number): number {
  const w = Math.floor(width / BLOCKS)
  if (w < 8) throw new RangeError(`frames ${width} wide are too narrow for ${BLOCKS} blocks`)
  return w
}

/** `count` frames of scrolling pattern plus fresh noise (the strip is left for stampFrame). */
export function makeFrames (f: VideoFormat, count = DISTINCT_FRAMES): Buffer[] {
  const ySize = f.width * f.height
  const shift = 6
  const cols = f.width + shift * count
  const sinCol = Float64Array.from({ length: cols }, (_, u) => 50 * Math.sin(u / 23))
  const cosRow = Float64Array.from({ length: f.height }, (_, y) => Math.cos(y / 31))
  const diag = Float64Array.from({ length: cols + f.height }, (_, d) => 30 * Math.sin(d / 61))
  const frames: Buffer[] = []
  const noise = Buffer.alloc(ySize)
  for (let k = 0; k < count; k++) {
    const frame = Buffer.alloc(frameBytes(f), 128)
    randomFillSync(noise)
    for (let y = STRIP_ROWS; y < f.height; y++) {
      const row = y * f.width
      for (let x = 0; x < f.width; x++) {
        const u = x + shift * k
        const v = 128 + sinCol[u] * cosRow[y] + diag[u + y] + (noise[row + x] & 31) - 16
        frame[row + x] = v < 16 ? 16 : v > 235 ? 235 : v
      }
    }
    frames.push(frame)
  }
  return frames
}

/** Write frame number `n` (mod 2^16) into the strip of a frame (its first rows). */
export function stampFrame (frame: Buffer, width: number, n: number): void {
  const bw = blockWidth(width)
  for (let b = 0; b < BLOCKS; b++) {
    const bit = b < BITS ? (n >> b) & 1 : ((~n) >> (b - BITS)) & 1
    const value = bit === 1 ? WHITE : BLACK
    for (let y = 0; y < STRIP_ROWS; y++) frame.fill(value, y * width + b * bw, y * width + (b + 1) * bw)
  }
}

/** The frame number in a decoded strip (its luma plane first, `width` bytes a row); undefined if it does not check. */
export function readStamp (strip: Buffer, width: number): number | undefined {
  const bw = blockWidth(width)
  let n = 0
  let check = 0
  for (let b = 0; b < BLOCKS; b++) {
    let sum = 0
    let count = 0
    for (let y = 4; y < STRIP_ROWS - 4; y++) {
      for (let x = b * bw + Math.floor(bw / 4); x < (b + 1) * bw - Math.floor(bw / 4); x++) {
        sum += strip[y * width + x]
        count++
      }
    }
    const bit = sum / count > 128 ? 1 : 0
    if (b < BITS) n |= bit << b
    else check |= bit << (b - BITS)
  }
  return ((n ^ check) & 0xffff) === 0xffff ? n : undefined
}

export interface WrittenFrame {
  /** The pipe it went into. */
  target: string
  /** nowMs() when its last byte was in the pipe. */
  at: number
}

/** What the main thread and frame-writer-worker.ts say to each other. */
export type ToWriter = { feed: string | null } | { close: true }
export type FromWriter = { ready: true } | { n: number, target: string, at: number } | { error: string }

/**
 * Writes numbered frames at the frame rate into one named pipe at a time,
 * from a worker thread (bench/lib/frame-writer-worker.ts) so that neither the
 * pacing nor the capture times wait for this thread's event loop. The pipes
 * are opened read-write and non-blocking: opening never waits for a reader,
 * a pipeline may open and close its end at will, and a full pipe only makes
 * the worker retry (every 0.2 ms). The pipes are made to hold a whole frame
 * (enlargePipe). A frame counts as captured when its last byte is in the
 * pipe, where the pipeline's filesrc gets it.
 */
export class FrameWriter {
  readonly format: VideoFormat
  /** Frame number → pipe and capture time. */
  readonly written = new Map<number, WrittenFrame>()
  /** Whether every pipe holds PIPE_BYTES (else 64 KiB: a frame takes many writes). */
  pipesEnlarged = false
  readonly #worker: Worker
  readonly #wake: Int32Array
  #error: string | undefined
  #exited = false

  private constructor (format: VideoFormat, fifos: Record<string, string>) {
    this.format = format
    const wake = new SharedArrayBuffer(4)
    this.#wake = new Int32Array(wake)
    this.#worker = new Worker(new URL('./frame-writer-worker.ts', import.meta.url), { workerData: { format, fifos, wake } })
    this.#worker.on('message', (m: FromWriter) => {
      if ('n' in m) this.written.set(m.n, { target: m.target, at: m.at })
      else if ('error' in m) this.#error = m.error
    })
    this.#worker.on('error', err => { this.#error = err.message })
    this.#worker.on('exit', () => { this.#exited = true })
    // never what keeps the process alive (close() ends it)
    this.#worker.unref()
  }

  /** A writer for the named pipes `fifos` (name → path), once its frames are made. */
  static async start (format: VideoFormat, fifos: Record<string, string>): Promise<FrameWriter> {
    const writer = new FrameWriter(format, fifos)
    const [first] = await Promise.race([
      once(writer.#worker, 'message') as Promise<[FromWriter]>,
      once(writer.#worker, 'exit').then(() => [{ error: writer.#error ?? 'frame writer exited' }] as [FromWriter])
    ])
    if (!('ready' in first)) {
      await writer.close()
      throw new Error(`frame writer: ${'error' in first ? first.error : 'no ready message'}`)
    }
    // the worker holds every pipe open now, so the new size sticks
    writer.pipesEnlarged = Object.values(fifos).every(enlargePipe)
    return writer
  }

  /** Feed the pipe `name` from now on (undefined: none). */
  feed (name: string | undefined): void {
    if (this.#error !== undefined) throw new Error(`frame writer: ${this.#error}`)
    this.#send({ feed: name ?? null })
  }

  /** Frames written into `name` with a capture time in [from, to). */
  framesIn (name: string, from: number, to: number): Array<[number, WrittenFrame]> {
    return [...this.written].filter(([, w]) => w.target === name && w.at >= from && w.at < to)
  }

  async close (): Promise<void> {
    if (this.#exited) return
    const exited = once(this.#worker, 'exit')
    this.#send({ close: true })
    const timer = setTimeout(() => { void this.#worker.terminate() }, 2_000)
    await exited
    clearTimeout(timer)
  }

  #send (message: ToWriter): void {
    if (this.#exited) return
    this.#worker.postMessage(message)
    Atomics.add(this.#wake, 0, 1)
    Atomics.notify(this.#wake, 0)
  }
}

/** Cuts a byte stream of fixed-size decoded strips into frames; `onFrame(n, at)` for each one that reads back. */
export class StripReader {
  readonly #bytes: number
  readonly #width: number
  readonly #onFrame: (n: number | undefined, at: number) => void
  #pending: Buffer[] = []
  #pendingBytes = 0

  constructor (format: VideoFormat, onFrame: (n: number | undefined, at: number) => void) {
    this.#bytes = i420Bytes(format.width, STRIP_ROWS)
    this.#width = format.width
    this.#onFrame = onFrame
  }

  push (chunk: Buffer): void {
    const at = nowMs()
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    while (this.#pendingBytes >= this.#bytes) {
      const all = Buffer.concat(this.#pending)
      const strip = all.subarray(0, this.#bytes)
      const rest = all.subarray(this.#bytes)
      this.#pending = rest.length > 0 ? [rest] : []
      this.#pendingBytes = rest.length
      this.#onFrame(readStamp(strip, this.#width), at)
    }
  }
}
