/** Columns of text, left-aligned, two spaces apart; no trailing spaces. */
export function formatTable (headers: string[], rows: string[][]): string {
  const all = [headers, ...rows]
  const widths = headers.map((_, col) => Math.max(...all.map(row => (row[col] ?? '').length)))
  return all
    .map(row => headers.map((_, col) => (row[col] ?? '').padEnd(widths[col])).join('  ').trimEnd())
    .join('\n') + '\n'
}
