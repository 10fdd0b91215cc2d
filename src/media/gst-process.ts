import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Logger } from 'pino'
import { PipelineError, PipelineStartTimeoutError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { missingElementIn } from './gst-elements.ts'
import { splitLaunchArgs } from './launch-args.ts'
import { withParentDeathSignal } from './parent-death.ts'
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, backoffMs } from '../util/backoff.ts'
import { StderrTail } from './stderr-tail.ts'

export const GST_LAUNCH = 'gst-launch-1.0'
export const DEFAULT_START_TIMEOUT_MS = 10_000
/** After SIGINT (gst-launch -e turns it into EOS, so muxers finalise files). */
export const DEFAULT_EOS_TIMEOUT_MS = 5_000
export const DEFAULT_TERM_TIMEOUT_MS = 2_000
/** Consecutive failed (re)starts before giving up with 'failed'. */
export const DEFAULT_MAX_RESTARTS = 10
/** A run this long resets the failure count, so a crash after hours restarts quickly. */
export const DEFAULT_STABLE_MS = 10_000
/** gst-launch announces PLAYING: for pipelines whose sinks cannot be made async=false (autovideosink). */
export const PLAYING_REQUESTED_LINE = /^Setting pipeline to PLAYING/
/** gst-launch -m: the pipeline itself reached PLAYING ("Setting pipeline to PLAYING" comes earlier, and an EOS sent before this line can be lost). */
export const READY_LINE = /^Got message #\d+ from element "pipeline0" \(state-changed\): .*new-state=\(GstState\)playing/

export interface GstProcessInit {
  /** Names the process in logs and errors, e.g. "source video". */
  label: string
  /** The pipeline description; a function is called again before every (re)start. */
  pipeline: string | (() => string | Promise<string>)
  /** The process is started once a stdout line matches this (default: the pipeline's state-changed to PLAYING). */
  readyLine?: RegExp
  /** gst-launch -v prints property changes (ports, fakesink buffers); on by default. -m (bus messages) is always on. */
  verbose?: boolean
  startTimeoutMs?: number
  eosTimeoutMs?: number
  termTimeoutMs?: number
  /** Restart on an unexpected exit (default true). */
  restart?: boolean
  maxRestarts?: number
  stableMs?: number
  restartInitialMs?: number
  restartMaxMs?: number
  gstLaunch?: string
  /**
   * The command that runs the pipeline, given its description split into
   * argv (default: `gst-launch-1.0 -e -m [-v]` under the parent-death guard).
   * It must print a readyLine, take SIGINT as EOS and exit after it.
   */
  launcher?: (descriptionArgs: string[]) => { command: string, args: string[], /** For errors (default: the command). */ name?: string }
  /** Give the child a stdin pipe for write() (default: none). */
  stdin?: boolean
  env?: NodeJS.ProcessEnv
  logger?: Logger
}

export interface GstProcessEvents {
  /** The pipeline reached PLAYING (first start and every restart). */
  started: [pid: number]
  /** One line of gst-launch's stdout. */
  line: [line: string]
  /** The child exited (whatever the reason). */
  exit: [code: number | null, signal: NodeJS.Signals | null, stderrTail: string]
  /** A restart begins (after its back-off); attempt counts consecutive failures. */
  restart: [attempt: number]
  /** Gave up after maxRestarts consecutive failures, or restart is off. */
  failed: [err: Error]
}

export type GstProcessState = 'idle' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed'

interface Exit { code: number | null, signal: NodeJS.Signals | null }

/**
 * One supervised `gst-launch-1.0 -e` child (after mediasoup's Worker and
 * go2rtc's pkg/shell): start timeout, stderr tail in every error, stop by
 * SIGINT → SIGTERM → SIGKILL to its own process group, restart with
 * exponential back-off, and death with the daemon (see parent-death.ts).
 */
export class GstProcess extends TypedEmitter<GstProcessEvents> implements Startable {
  readonly label: string
  readonly #init: GstProcessInit
  #state: GstProcessState = 'idle'
  #child: ChildProcess | undefined
  #exited: Promise<Exit> | undefined
  #tail = new StderrTail()
  #failures = 0
  #restartTimer: NodeJS.Timeout | undefined
  #stopping: Promise<void> | undefined
  /** What runs the pipeline, for error messages. */
  #command = 'gst-launch'

  constructor (init: GstProcessInit) {
    super()
    this.label = init.label
    this.#init = init
  }

  get state (): GstProcessState { return this.#state }
  get pid (): number | undefined { return this.#child?.pid }
  get stderrTail (): string { return this.#tail.toString() }

  async start (): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running' || this.#state === 'backoff') return
    this.#stopping = undefined
    this.#failures = 0
    this.#state = 'starting'
    try {
      await this.#launch()
    } catch (err) {
      if (this.#state === 'starting') this.#state = 'stopped'
      throw err
    }
  }

  async stop (): Promise<void> {
    this.#stopping ??= this.#stop()
    await this.#stopping
  }

  async #stop (): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'stopped') {
      this.#state = 'stopped'
      return
    }
    this.#state = 'stopping'
    clearTimeout(this.#restartTimer)
    const child = this.#child
    const exited = this.#exited
    if (child !== undefined && exited !== undefined && child.exitCode === null && child.signalCode === null) {
      await this.#terminate(child, exited)
    }
    this.#state = 'stopped'
    this.#init.logger?.debug({ label: this.label }, 'gst process stopped')
  }

  async #terminate (child: ChildProcess, exited: Promise<Exit>): Promise<void> {
    const steps: Array<[NodeJS.Signals, number]> = [
      ['SIGINT', this.#init.eosTimeoutMs ?? DEFAULT_EOS_TIMEOUT_MS],
      ['SIGTERM', this.#init.termTimeoutMs ?? DEFAULT_TERM_TIMEOUT_MS]
    ]
    for (const [signal, waitMs] of steps) {
      signalGroup(child, signal)
      if (await settlesWithin(exited, waitMs)) return
      this.#init.logger?.warn({ label: this.label, signal, waitMs }, 'gst process did not exit in time')
    }
    signalGroup(child, 'SIGKILL')
    await exited
  }

  async #launch (): Promise<void> {
    const { pipeline } = this.#init
    const description = typeof pipeline === 'function' ? await pipeline() : pipeline
    if (this.#isStopping()) throw new PipelineError(`${this.label}: stopped while starting`, '')
    const { command, args, name } = (this.#init.launcher ?? this.#gstLaunch)(splitLaunchArgs(description))
    this.#command = name ?? command
    const tail = new StderrTail()
    this.#tail = tail
    // detached: its own session and process group, so signals reach everything it forks
    const child = spawn(command, args, { detached: true, stdio: [this.#init.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: this.#init.env })
    this.#child = child
    // a write racing the child's exit fails with EPIPE: the exit is what tells
    child.stdin?.on('error', err => { this.#init.logger?.debug({ label: this.label, err: err.message }, 'gst process stdin') })
    child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk))
    const exited = exitOf(child, tail)
    this.#exited = exited

    let ready = false
    let onReady: () => void = () => {}
    const readyLine = this.#init.readyLine ?? READY_LINE
    createInterface({ input: child.stdout! }).on('line', line => {
      this.emit('line', line)
      if (!ready && readyLine.test(line)) onReady()
    })
    const startedAt = Date.now()
    void exited.then(({ code, signal }) => {
      this.emit('exit', code, signal, tail.toString())
      this.#init.logger?.info({ label: this.label, pid: child.pid, code, signal }, 'gst process exited')
      if (ready && this.#child === child) this.#onRunningExit(startedAt, code, signal, tail.toString())
    })

    const timeoutMs = this.#init.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const outcome = await new Promise<'ready' | 'timeout' | Exit>(resolve => {
      onReady = () => resolve('ready')
      void exited.then(resolve)
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    clearTimeout(timer)
    if (outcome === 'ready') {
      ready = true
      this.#state = 'running'
      this.#init.logger?.info({ label: this.label, pid: child.pid }, 'gst process playing')
      this.emit('started', child.pid!)
      return
    }
    if (outcome === 'timeout') {
      signalGroup(child, 'SIGKILL')
      await exited
      throw new PipelineStartTimeoutError(this.label, timeoutMs, tail.toString())
    }
    const text = tail.toString()
    throw missingElementIn(text) ?? new PipelineError(`${this.label}: ${this.#command} exited before PLAYING (${describeExit(outcome)})`, text, outcome.code, outcome.signal)
  }

  /** Write to the running child's stdin (init.stdin); false when there is none to write to. */
  write (text: string): boolean {
    const stdin = this.#child?.stdin
    if (this.#state !== 'running' || stdin === undefined || stdin === null || stdin.destroyed || !stdin.writable) return false
    stdin.write(text)
    return true
  }

  readonly #gstLaunch = (descriptionArgs: string[]): { command: string, args: string[], name: string } => {
    const flags = this.#init.verbose === false ? ['-e', '-m'] : ['-e', '-m', '-v']
    return { ...withParentDeathSignal(this.#init.gstLaunch ?? GST_LAUNCH, [...flags, ...descriptionArgs]), name: 'gst-launch' }
  }

  #onRunningExit (startedAt: number, code: number | null, signal: NodeJS.Signals | null, tail: string): void {
    if (this.#isStopping()) return
    const err = new PipelineError(`${this.label}: ${this.#command} exited unexpectedly (${describeExit({ code, signal })})`, tail, code, signal)
    if (this.#init.restart === false) {
      this.#fail(err)
      return
    }
    if (Date.now() - startedAt >= (this.#init.stableMs ?? DEFAULT_STABLE_MS)) this.#failures = 0
    this.#scheduleRestart(err)
  }

  #scheduleRestart (err: Error): void {
    this.#failures++
    if (this.#failures > (this.#init.maxRestarts ?? DEFAULT_MAX_RESTARTS)) {
      this.#fail(err)
      return
    }
    this.#state = 'backoff'
    const attempt = this.#failures
    const delay = backoffMs(attempt, this.#init.restartInitialMs ?? BACKOFF_INITIAL_MS, this.#init.restartMaxMs ?? BACKOFF_MAX_MS)
    this.#init.logger?.warn({ label: this.label, attempt, delayMs: delay, err: err.message }, 'gst process restarting')
    this.#restartTimer = setTimeout(() => {
      if (this.#isStopping()) return
      this.#state = 'starting'
      this.emit('restart', attempt)
      this.#launch().catch((launchErr: Error) => {
        if (!this.#isStopping()) this.#scheduleRestart(launchErr)
      })
    }, delay)
  }

  #fail (err: Error): void {
    this.#state = 'failed'
    this.#init.logger?.error({ label: this.label, err: err.message }, 'gst process failed')
    this.emit('failed', err)
  }

  #isStopping (): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped'
  }
}

function exitOf (child: ChildProcess, tail: StderrTail): Promise<Exit> {
  return new Promise(resolve => {
    child.once('error', err => {
      tail.push(Buffer.from(`${err.message}\n`))
      resolve({ code: null, signal: null })
    })
    // 'close' waits for stdio to drain so the stderr tail is complete
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try { child.kill(signal) } catch {}
  }
}

async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  const done = await Promise.race([promise.then(() => true as const), timeout])
  clearTimeout(timer)
  return done
}

function describeExit ({ code, signal }: Exit): string {
  return signal !== null ? `signal ${signal}` : `code ${String(code)}`
}
