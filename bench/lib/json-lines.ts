import readline from 'node:readline'
import type { Child } from './child.ts'

export type Message = Record<string, any>

interface Waiter {
  match: (m: Message) => boolean
  resolve: (m: Message) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

const DEFAULT_TIMEOUT_MS = 30_000

/**
 * Talk to a child process (spawned with `stdin: 'pipe'`) in JSON lines: one
 * object per line each way. Lines on its stdout that are not JSON objects are
 * ignored (they still show in `child.output()`).
 */
export class JsonLines {
  readonly child: Child
  readonly #queue: Message[] = []
  #waiters: Waiter[] = []
  #gone: string | undefined

  constructor (child: Child) {
    this.child = child
    if (child.proc.stdout === null || child.proc.stdin === null) throw new Error(`${child.command}: stdin and stdout must be pipes`)
    const lines = readline.createInterface({ input: child.proc.stdout })
    lines.on('line', line => { this.#line(line) })
    child.proc.stdin.on('error', () => { /* EPIPE when the child died: reported through `exited` */ })
    void child.exited.then(status => {
      this.#gone = `${child.command} exited (${status.code ?? status.signal}):\n${child.output().slice(-3000)}`
      for (const w of this.#waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(this.#gone)) }
    })
  }

  send (message: Message): void {
    if (this.#gone !== undefined) throw new Error(this.#gone)
    this.child.proc.stdin?.write(`${JSON.stringify(message)}\n`)
  }

  /** The first message (queued or yet to come) that `match` accepts; earlier non-matching ones are dropped. */
  async next (match: (m: Message) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Message> {
    while (this.#queue.length > 0) {
      const m = this.#queue.shift() as Message
      if (match(m)) return m
    }
    if (this.#gone !== undefined) throw new Error(this.#gone)
    return await new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter(w => w !== waiter)
          reject(new Error(`${this.child.command}: no answer in ${timeoutMs} ms:\n${this.child.output().slice(-3000)}`))
        }, timeoutMs)
      }
      this.#waiters.push(waiter)
    })
  }

  /** Send a command and wait for the answer that carries the same `reply` tag (or an `error`). */
  async request (message: Message, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Message> {
    this.send(message)
    const answer = await this.next(m => m.reply === message.cmd || m.error !== undefined, timeoutMs)
    if (answer.error !== undefined) throw new Error(`${this.child.command}: ${String(answer.error)}`)
    return answer
  }

  #line (line: string): void {
    if (!line.startsWith('{')) return
    let message: Message
    try {
      message = JSON.parse(line)
    } catch {
      return
    }
    const waiter = this.#waiters.find(w => w.match(message))
    if (waiter === undefined) {
      this.#queue.push(message)
      return
    }
    this.#waiters = this.#waiters.filter(w => w !== waiter)
    clearTimeout(waiter.timer)
    waiter.resolve(message)
  }
}
