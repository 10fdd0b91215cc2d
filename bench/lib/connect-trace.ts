import type { Child } from './child.ts'

/** Connect phases, in order, as both the edged trace and the bare floor name them. */
export const CONNECT_PHASES = [
  'offer created',
  'offer applied at the answerer',
  'answer created',
  'answer applied at the offerer',
  'ICE connected at the offerer',
  'ICE connected at the answerer',
  'connected at the offerer',
  'connected at the answerer',
  'control open at the offerer',
  'control open at the answerer'
] as const

/** The phase a debug line of edged's transport logger marks, if any. */
function phaseOf (line: Record<string, any>, channel: string): string | undefined {
  const role = line.role === 'offerer' ? 'offerer' : line.role === 'answerer' ? 'answerer' : undefined
  if (role === undefined) return undefined
  switch (line.msg) {
    case 'local description': return `${line.type} created`
    case 'remote description applied': return `${line.type} applied at the ${role}`
    case 'ice state': return line.ice === 'connected' ? `ICE connected at the ${role}` : undefined
    case 'peer connection state': return line.native === 'connected' ? `connected at the ${role}` : undefined
    case 'channel open': return line.channel === channel ? `${channel} open at the ${role}` : undefined
    default: return undefined
  }
}

/**
 * Reads the JSON log lines (stderr) of daemons running with `log.levels.transport: debug`
 * and keeps, per phase, the first time (Date.now() clock, ms) it was seen since `reset()`.
 */
export class ConnectTrace {
  readonly #seen = new Map<string, number>()
  readonly #channel: string

  constructor (children: Child[], channel: string) {
    this.#channel = channel
    for (const child of children) {
      let rest = ''
      child.proc.stderr?.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n')
        rest = lines.pop() ?? ''
        for (const text of lines) this.#line(text)
      })
    }
  }

  reset (): void { this.#seen.clear() }

  /** ms from `startedAt` (Date.now()) to each phase seen. */
  phases (startedAt: number): Record<string, number> {
    return Object.fromEntries([...this.#seen].map(([phase, at]) => [phase, at - startedAt]))
  }

  #line (text: string): void {
    if (!text.startsWith('{')) return
    let line: Record<string, any>
    try {
      line = JSON.parse(text)
    } catch {
      return
    }
    const phase = phaseOf(line, this.#channel)
    if (phase === undefined || this.#seen.has(phase)) return
    this.#seen.set(phase, Date.parse(line.time))
  }
}
