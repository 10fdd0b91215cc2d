import fs from 'node:fs'
import { Worker } from 'node:worker_threads'

/** A process's resident set, in bytes (Linux /proc). */
export function rssBytes (pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return kb * 1024
}

/** UDP sockets a process holds (its socket fds whose inode /proc/net/udp{,6} lists). */
export function udpSockets (pid: number): number {
  const inodes = new Set<string>()
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = ''
    try { text = fs.readFileSync(file, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9]
      if (inode !== undefined) inodes.add(inode)
    }
  }
  let n = 0
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link = ''
    try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`) } catch { continue }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1]
    if (inode !== undefined && inodes.has(inode)) n++
  }
  return n
}

/** Samples a process's RSS every `everyMs` until stopped; `peak` is the largest seen. */
export class RssSampler {
  peak = 0
  readonly #timer: NodeJS.Timeout
  constructor (pid: number, everyMs = 100) {
    const sample = (): void => {
      try { this.peak = Math.max(this.peak, rssBytes(pid)) } catch {}
    }
    sample()
    this.#timer = setInterval(sample, everyMs)
  }

  stop (): number {
    clearInterval(this.#timer)
    return this.peak
  }
}

/**
 * GET /v1/status on a control socket every `everyMs`, from a worker thread
 * (its own event loop: an attack driven from the test's thread does not
 * delay the probe). A request that takes 5 s counts as 5 s.
 */
export class ControlProbe {
  readonly #worker: Worker
  readonly #latencies: number[] = []

  constructor (socket: string, everyMs = 100) {
    this.#worker = new Worker(`
      const http = require('node:http')
      const { parentPort, workerData } = require('node:worker_threads')
      let stopped = false
      parentPort.on('message', () => { stopped = true })
      const once = () => new Promise(resolve => {
        const t0 = performance.now()
        const req = http.request({ socketPath: workerData.socket, path: '/v1/status', timeout: 5000 }, res => {
          res.resume()
          res.on('end', () => resolve(performance.now() - t0))
        })
        req.on('timeout', () => { req.destroy(); resolve(5000) })
        req.on('error', () => resolve(5000))
        req.end()
      })
      ;(async () => {
        while (!stopped) {
          const started = performance.now()
          parentPort.postMessage(await once())
          await new Promise(r => setTimeout(r, Math.max(0, workerData.everyMs - (performance.now() - started))))
        }
        process.exit(0)
      })()
    `, { eval: true, workerData: { socket, everyMs } })
    this.#worker.on('message', (ms: number) => { this.#latencies.push(ms) })
  }

  /** Stop; the latencies seen, sorted. */
  async stop (): Promise<number[]> {
    this.#worker.postMessage('stop')
    await new Promise(resolve => this.#worker.once('exit', resolve))
    return [...this.#latencies].sort((a, b) => a - b)
  }
}

/** The p-th percentile of sorted values. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}
