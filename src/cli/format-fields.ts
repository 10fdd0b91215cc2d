/** `key: value` lines with the values aligned; a list value continues on lines of its own. */
export function formatFields (fields: Array<[string, string | string[]]>): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 2
  const lines: string[] = []
  for (const [key, value] of fields) {
    const values = Array.isArray(value) ? (value.length === 0 ? ['(none)'] : value) : [value]
    values.forEach((v, i) => { lines.push(`${i === 0 ? `${key}:`.padEnd(width) : ' '.repeat(width)}${v}`) })
  }
  return lines.join('\n') + '\n'
}
