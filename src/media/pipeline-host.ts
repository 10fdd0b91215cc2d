import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import { PipelineCommandError, PipelineCommandTimeoutError, PipelineNotRunningError, VideoFormatUnsupportedError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { GstProcess, type GstProcessInit, type GstProcessState } from './gst-process.ts'
import { encodeCommand, parseHostLine, type HostCommand, type HostResults } from './host-protocol.ts'

/** Debian's python3 (with python3-gi and python3-gst-1.0), not whatever python3 comes first on PATH. */
export const DEFAULT_PYTHON = '/usr/bin/python3'
/** Shipped beside this file (package.json ships src/). */
export const PIPELINE_HOST_SCRIPT = fileURLToPath(new URL('./pipeline-host.py', import.meta.url))
/** The host prints this once the pipeline is PLAYING. */
export const HOST_READY_LINE = /^\{"event":"playing"/
export const DEFAULT_REQUEST_TIMEOUT_MS = 2_000
/** Commands waiting for their reply; more are refused (a stuck host must not grow a queue). */
export const MAX_PENDING_REQUESTS = 32

export interface PipelineHostInit extends Omit<GstProcessInit, 'launcher' | 'stdin' | 'readyLine' | 'gstLaunch' | 'verbose'> {
  /** Elements whose buffers in and out the host counts (pad probes), for stats. */
  count?: string[]
  python?: string
  script?: string
  requestTimeoutMs?: number
}

export interface PipelineHostEvents {
  /** PLAYING (first start and every restart), with the ports its udpsrc elements bound. */
  playing: [ports: Record<string, number>]
  started: [pid: number]
  exit: [code: number | null, signal: NodeJS.Signals | null, stderrTail: string]
  restart: [attempt: number]
  failed: [err: Error]
}

interface Pending {
  resolve: (result: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/**
 * One supervised pipeline-host.py: the pipeline runs in GStreamer's own
 * Python bindings, so its elements can be changed while it plays. The
 * supervision is GstProcess's (start timeout, stderr tail, restart with
 * back-off, EOS on stop); commands go as JSON lines on stdin and are answered
 * on stdout (host-protocol.ts).
 */
export class PipelineHost extends TypedEmitter<PipelineHostEvents> implements Startable {
  readonly label: string
  readonly #process: GstProcess
  readonly #pending = new Map<number, Pending>()
  readonly #timeoutMs: number
  #nextId = 1
  #ports: Record<string, number> = {}

  constructor (init: PipelineHostInit) {
    super()
    this.label = init.label
    this.#timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const python = init.python ?? DEFAULT_PYTHON
    const script = init.script ?? PIPELINE_HOST_SCRIPT
    const count = (init.count ?? []).flatMap(e => ['--count', e])
    this.#process = new GstProcess({
      ...init,
      stdin: true,
      readyLine: HOST_READY_LINE,
      // the host sets its own parent-death signal (prctl), and exits when its stdin closes
      launcher: args => ({ command: python, args: [script, '--parent', String(process.pid), ...count, '--', ...args], name: 'pipeline-host.py' })
    })
    this.#process.on('line', line => this.#onLine(line))
    this.#process.on('started', pid => {
      // the playing line came first; the process counts as running (takes commands) only now
      this.emit('playing', this.#ports)
      this.emit('started', pid)
    })
    this.#process.on('exit', (code, signal, tail) => {
      this.#rejectAll(new PipelineNotRunningError(`${this.label}: the pipeline exited`))
      this.emit('exit', code, signal, tail)
    })
    this.#process.on('restart', attempt => this.emit('restart', attempt))
    this.#process.on('failed', err => this.emit('failed', err))
  }

  get state (): GstProcessState { return this.#process.state }
  get pid (): number | undefined { return this.#process.pid }
  get stderrTail (): string { return this.#process.stderrTail }

  async start (): Promise<void> {
    await this.#process.start()
  }

  async stop (): Promise<void> {
    await this.#process.stop()
    this.#rejectAll(new PipelineNotRunningError(`${this.label}: stopped`))
  }

  /** Send a command to the running pipeline; rejects with the host's refusal, a timeout, or PipelineNotRunningError. */
  async request<C extends HostCommand> (command: C): Promise<HostResults[C['cmd']]> {
    if (this.#pending.size >= MAX_PENDING_REQUESTS) throw new PipelineCommandError(`${this.label}: ${MAX_PENDING_REQUESTS} commands wait for an answer already`, 'HostBusyError')
    const id = this.#nextId++
    if (!this.#process.write(encodeCommand(id, command))) throw new PipelineNotRunningError(`${this.label} is not running (${this.#process.state})`)
    return await new Promise<HostResults[C['cmd']]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new PipelineCommandTimeoutError(`${this.label}: no answer to ${command.cmd} within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer })
    })
  }

  #onLine (line: string): void {
    const parsed = parseHostLine(line)
    switch (parsed.type) {
      case 'playing':
        this.#ports = parsed.ports
        return
      case 'reply': {
        const pending = this.#pending.get(parsed.id)
        if (pending === undefined) return
        this.#pending.delete(parsed.id)
        clearTimeout(pending.timer)
        if (parsed.ok) pending.resolve(parsed.result)
        else pending.reject(refusal(this.label, parsed.error))
        return
      }
      default:
    }
  }

  #rejectAll (err: Error): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id)
      clearTimeout(pending.timer)
      pending.reject(err)
    }
  }
}

function refusal (label: string, error: { name: string, message: string }): Error {
  if (error.name === 'FormatUnsupportedError') return new VideoFormatUnsupportedError(`${label}: ${error.message}`)
  return new PipelineCommandError(`${label}: ${error.message}`, error.name)
}
