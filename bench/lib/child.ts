import { spawn, type ChildProcess } from 'node:child_process'

const OUTPUT_TAIL_CHARS = 8000
const DEFAULT_STOP_TIMEOUT_MS = 8000

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** 'pipe' to talk to the child on its stdin (`proc.stdin`); default 'ignore'. */
  stdin?: 'pipe' | 'ignore'
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Every child still running, so an emergency exit can kill their process groups. */
const live = new Set<Child>()

/**
 * A spawned process in its own process group (so anything it starts can be
 * killed with it). stdout and stderr are kept as a short tail for error messages.
 */
export class Child {
  readonly proc: ChildProcess
  readonly pid: number
  readonly command: string
  readonly exited: Promise<ExitStatus>
  #output = ''
  #running = true

  constructor (command: string, args: string[], options: SpawnOptions = {}) {
    this.command = [command, ...args].join(' ')
    this.proc = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
      detached: true
    })
    const keep = (chunk: Buffer): void => { this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS) }
    this.proc.stdout?.on('data', keep)
    this.proc.stderr?.on('data', keep)
    this.exited = new Promise(resolve => {
      this.proc.once('exit', (code, signal) => {
        this.#running = false
        live.delete(this)
        resolve({ code, signal })
      })
      this.proc.once('error', err => {
        this.#output += `\nspawn failed: ${err.message}`
        this.#running = false
        live.delete(this)
        resolve({ code: null, signal: null })
      })
    })
    if (this.proc.pid === undefined) {
      this.pid = -1
    } else {
      this.pid = this.proc.pid
      live.add(this)
    }
  }

  get running (): boolean { return this.#running }

  output (): string { return this.#output }

  /**
   * SIGTERM the process and wait for it to exit; SIGKILL its whole group if it
   * takes longer than `timeoutMs`, and in any case afterwards, so no descendant
   * outlives it. Idempotent.
   */
  async stop (timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitStatus> {
    if (this.#running) this.proc.kill('SIGTERM')
    const timer = setTimeout(() => { killGroup(this.pid, 'SIGKILL') }, timeoutMs)
    const status = await this.exited
    clearTimeout(timer)
    killGroup(this.pid, 'SIGKILL')
    return status
  }
}

function killGroup (pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone
  }
}

/** Synchronous last resort for exit and signal handlers: SIGKILL every live child's group. */
export function killAllChildrenNow (): void {
  for (const child of live) killGroup(child.pid, 'SIGKILL')
  live.clear()
}
