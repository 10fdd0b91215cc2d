import path from 'node:path'
import { InvalidSinkError } from '../util/errors.ts'

export type FileContainer = 'mkv' | 'webm' | 'mp4'

/** Where `edgectl watch --sink` sends a remote track. */
export type SinkSpec =
  | { kind: 'count' }
  | { kind: 'file', path: string, container: FileContainer }
  | { kind: 'rtp', host: string, port: number }
  | { kind: 'display' }

const CONTAINERS: Record<string, FileContainer> = { '.mkv': 'mkv', '.webm': 'webm', '.mp4': 'mp4' }

/** Parse "count", "file:PATH" (.mkv, .webm, .mp4), "rtp://HOST:PORT" or "display". */
export function parseSinkSpec (spec: string): SinkSpec {
  if (spec === 'count' || spec === 'display') return { kind: spec }
  if (spec.startsWith('file:')) {
    const file = spec.slice('file:'.length)
    if (file === '') throw new InvalidSinkError('file sink needs a path: file:PATH')
    const container = CONTAINERS[path.extname(file).toLowerCase()]
    if (container === undefined) throw new InvalidSinkError(`file sink ${file}: the name must end in .mkv, .webm or .mp4`)
    return { kind: 'file', path: path.resolve(file), container }
  }
  if (spec.startsWith('rtp://')) {
    const match = /^rtp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65535) throw new InvalidSinkError(`bad rtp sink ${spec}: expected rtp://HOST:PORT`)
    return { kind: 'rtp', host: match[1].replace(/^\[|\]$/g, ''), port }
  }
  throw new InvalidSinkError(`unknown sink ${spec}: use count, file:PATH, rtp://HOST:PORT or display`)
}

export function formatSinkSpec (spec: SinkSpec): string {
  switch (spec.kind) {
    case 'file': return `file:${spec.path}`
    case 'rtp': return `rtp://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`
    default: return spec.kind
  }
}
