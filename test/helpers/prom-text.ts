/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for
 * tests: every line must be a comment (HELP/TYPE), empty, or a well-formed
 * sample of a family whose TYPE came first; a series may appear only once.
 */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface PromText {
  types: Map<string, string>
  samples: PromSample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
  counter: [''],
  gauge: [''],
  untyped: ['']
}

function parseValue (text: string, line: number): number {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`)
  return Number(text)
}

function parseLabels (text: string, line: number): [Record<string, string>, string] {
  const labels: Record<string, string> = {}
  let rest = text.slice(1)
  while (!rest.startsWith('}')) {
    const name = LABEL_NAME.exec(rest)?.[0]
    if (name === undefined || rest[name.length] !== '=' || rest[name.length + 1] !== '"') throw new Error(`line ${line}: bad label at ${JSON.stringify(rest)}`)
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`)
    let i = name.length + 2
    let value = ''
    for (; ; i++) {
      const c = rest[i]
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`)
      if (c === '"') break
      if (c === '\\') {
        const e = rest[++i]
        if (e === 'n') value += '\n'
        else if (e === '\\' || e === '"') value += e
        else throw new Error(`line ${line}: bad escape \\${e ?? ''}`)
      } else value += c
    }
    labels[name] = value
    rest = rest.slice(i + 1)
    if (rest.startsWith(',')) rest = rest.slice(1)
    else if (!rest.startsWith('}')) throw new Error(`line ${line}: expected , or } in labels`)
  }
  return [labels, rest.slice(1)]
}

export function parsePromText (text: string): PromText {
  const types = new Map<string, string>()
  const helps = new Set<string>()
  const seen = new Set<string>()
  const samples: PromSample[] = []
  const familyOf = (name: string): string | undefined => {
    for (const [family, type] of types) {
      if ((SUFFIXES[type] ?? ['']).some(suffix => name === family + suffix)) return family
    }
    return undefined
  }
  text.split('\n').forEach((raw, index) => {
    const line = index + 1
    if (raw === '') return
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(raw)
      if (m === null) return // other comments are allowed
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3])) throw new Error(`line ${line}: unknown type ${m[3]}`)
        if (types.has(m[2])) throw new Error(`line ${line}: TYPE of ${m[2]} twice`)
        if (samples.some(s => s.name === m[2] || s.name.startsWith(m[2] + '_'))) throw new Error(`line ${line}: TYPE of ${m[2]} after its samples`)
        types.set(m[2], m[3])
      } else {
        if (helps.has(m[2])) throw new Error(`line ${line}: HELP of ${m[2]} twice`)
        helps.add(m[2])
      }
      return
    }
    const name = NAME.exec(raw)?.[0]
    if (name === undefined) throw new Error(`line ${line}: no metric name in ${JSON.stringify(raw)}`)
    let rest = raw.slice(name.length)
    let labels: Record<string, string> = {}
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, line)
    const parts = rest.split(' ')
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`line ${line}: expected " value [timestamp]" after the series in ${JSON.stringify(raw)}`)
    const value = parseValue(parts[1], line)
    if (parts.length === 3 && !/^-?\d+$/.test(parts[2])) throw new Error(`line ${line}: bad timestamp ${parts[2]}`)
    if (familyOf(name) === undefined) throw new Error(`line ${line}: sample ${name} has no TYPE before it`)
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (seen.has(key)) throw new Error(`line ${line}: series ${key} twice`)
    seen.add(key)
    samples.push({ name, labels, value })
  })
  return { types, samples }
}

/** Samples of one metric name whose labels include `match`. */
export function series (text: PromText, name: string, match: Record<string, string> = {}): PromSample[] {
  return text.samples.filter(s => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
}
