import http from 'node:http'
import { SseParser, type SseEvent } from '../../src/client/sse-parser.ts'

interface Waiter {
  match: (e: SseEvent) => boolean
  resolve: (e: SseEvent) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/**
 * A Server-Sent Events stream over a unix socket (edged's GET /v1/events).
 * `waitFor` registers synchronously, so calling it before the action that
 * causes the event cannot miss the event.
 */
export class SseStream {
  readonly #req: http.ClientRequest
  #waiters: Waiter[] = []
  #closed: string | undefined

  private constructor (req: http.ClientRequest) {
    this.#req = req
  }

  static async open (socketPath: string, path: string): Promise<SseStream> {
    return await new Promise((resolve, reject) => {
      const req = http.request({ socketPath, path, method: 'GET', agent: false, headers: { accept: 'text/event-stream' } })
      const stream = new SseStream(req)
      req.once('response', res => {
        if (res.statusCode !== 200) {
          res.resume()
          reject(new Error(`GET ${path}: ${res.statusCode}`))
          return
        }
        const parser = new SseParser(event => { stream.#dispatch(event) })
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { parser.push(chunk) })
        res.on('close', () => { stream.#end(`event stream ${path} on ${socketPath} closed`) })
        resolve(stream)
      })
      req.once('error', err => {
        stream.#end(err.message)
        reject(err)
      })
      req.end()
    })
  }

  async waitFor (match: (e: SseEvent) => boolean, timeoutMs: number, what = 'event'): Promise<SseEvent> {
    if (this.#closed !== undefined) throw new Error(this.#closed)
    return await new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter(w => w !== waiter)
          reject(new Error(`no ${what} in ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.#waiters.push(waiter)
    })
  }

  close (): void {
    this.#end('closed')
    this.#req.destroy()
  }

  #dispatch (event: SseEvent): void {
    for (const waiter of this.#waiters.filter(w => w.match(event))) {
      this.#waiters = this.#waiters.filter(w => w !== waiter)
      clearTimeout(waiter.timer)
      waiter.resolve(event)
    }
  }

  #end (reason: string): void {
    if (this.#closed !== undefined) return
    this.#closed = reason
    for (const w of this.#waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(reason)) }
  }
}
