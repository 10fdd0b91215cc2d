/**
 * Split a gst-launch pipeline description into argv the way a POSIX shell
 * would (whitespace separates, '…' and "…" group and are removed, \ escapes).
 * gst-launch re-joins argv and escapes the spaces inside each argument, so
 * passing the whole description as one argument would not parse.
 */
export function splitLaunchArgs (description: string): string[] {
  const args: string[] = []
  let current = ''
  let inArg = false
  let quote: '"' | "'" | null = null
  for (let i = 0; i < description.length; i++) {
    const c = description[i]
    if (quote !== null) {
      if (c === quote) quote = null
      else if (c === '\\' && quote === '"' && (description[i + 1] === '"' || description[i + 1] === '\\')) current += description[++i]
      else current += c
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      inArg = true
    } else if (c === '\\' && i + 1 < description.length) {
      current += description[++i]
      inArg = true
    } else if (/\s/.test(c)) {
      if (inArg) args.push(current)
      current = ''
      inArg = false
    } else {
      current += c
      inArg = true
    }
  }
  if (quote !== null) throw new SyntaxError(`unterminated ${quote} in pipeline: ${description}`)
  if (inArg) args.push(current)
  return args
}
