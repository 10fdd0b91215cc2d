import http from 'node:http'
import { sleep } from './sleep.ts'

/** Status code of GET `path` over the unix socket, or undefined if nothing answers yet. */
export async function getStatusCode (socketPath: string, path: string, timeoutMs: number): Promise<number | undefined> {
  return await new Promise(resolve => {
    const req = http.request({ socketPath, path, method: 'GET', timeout: timeoutMs, agent: false }, res => {
      res.resume()
      resolve(res.statusCode)
    })
    req.once('timeout', () => { req.destroy() })
    req.once('error', () => { resolve(undefined) })
    req.end()
  })
}

export interface PollOptions {
  everyMs: number
  timeoutMs: number
  /** Checked between attempts: stop early (e.g. the process died). */
  giveUp?: () => string | undefined
}

/** Poll GET `path` until it answers 200; resolves to performance.now() at the first 200. */
export async function waitForHttp200 (socketPath: string, path: string, options: PollOptions): Promise<number> {
  const deadline = performance.now() + options.timeoutMs
  for (;;) {
    const code = await getStatusCode(socketPath, path, Math.max(1, deadline - performance.now()))
    if (code === 200) return performance.now()
    const reason = options.giveUp?.()
    if (reason !== undefined) throw new Error(reason)
    if (performance.now() > deadline) throw new Error(`no 200 from ${path} on ${socketPath} within ${options.timeoutMs} ms (last: ${code ?? 'no answer'})`)
    await sleep(options.everyMs)
  }
}
