/**
 * The line protocol between the daemon and pipeline-host.py: one JSON object
 * per line each way. Commands carry an id; the host answers each with a reply
 * of that id, and tells events (playing, eos, error) on the same stream.
 */

/** An element is named by its name= or, failing that, its factory (the first element it made). */
export type HostCommand =
  | { cmd: 'set', element: string, property: string, value: number | string | boolean }
  | { cmd: 'caps', before: string, caps: string }
  | { cmd: 'keyframe', element: string }
  | { cmd: 'stats', properties: Array<[element: string, property: string]>, caps: string[] }
  | { cmd: 'eos' }

export interface HostCounters { framesIn: number, framesOut: number, bytesOut: number }
export interface HostCaps { media: string, width?: number, height?: number, fps?: number }

export interface HostStats {
  counters: Record<string, HostCounters>
  properties: Record<string, unknown>
  caps: Record<string, HostCaps | null>
}

/** What each command answers. */
export interface HostResults {
  set: { value: unknown }
  caps: { caps: string }
  keyframe: Record<string, never>
  stats: HostStats
  eos: Record<string, never>
}

export type HostLine =
  | { type: 'reply', id: number, ok: true, result: unknown }
  | { type: 'reply', id: number, ok: false, error: { name: string, message: string } }
  | { type: 'playing', ports: Record<string, number> }
  | { type: 'eos' }
  | { type: 'error', element: string, message: string }
  /** Not a line of the protocol (a stray print from a plugin): ignored, never fatal. */
  | { type: 'other', line: string }

export function encodeCommand (id: number, command: HostCommand): string {
  return `${JSON.stringify({ id, ...command })}\n`
}

/** One line of the host's stdout, checked field by field. */
export function parseHostLine (line: string): HostLine {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { type: 'other', line }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { type: 'other', line }
  const o = value as Record<string, unknown>
  if (typeof o.id === 'number' && typeof o.ok === 'boolean') {
    if (o.ok) return { type: 'reply', id: o.id, ok: true, result: o.result }
    const e = (typeof o.error === 'object' && o.error !== null ? o.error : {}) as Record<string, unknown>
    return { type: 'reply', id: o.id, ok: false, error: { name: String(e.name ?? 'HostCommandError'), message: String(e.message ?? 'refused') } }
  }
  switch (o.event) {
    case 'playing': return { type: 'playing', ports: portsOf(o.ports) }
    case 'eos': return { type: 'eos' }
    case 'error': return { type: 'error', element: String(o.element ?? ''), message: String(o.message ?? '') }
    default: return { type: 'other', line }
  }
}

function portsOf (value: unknown): Record<string, number> {
  const ports: Record<string, number> = {}
  if (typeof value !== 'object' || value === null) return ports
  for (const [name, port] of Object.entries(value)) {
    if (Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) ports[name] = port as number
  }
  return ports
}
