/** A text message that parses as a JSON object (what a channel's `json` topic carries, in Foxglove and in recordings). */
export function isJsonObject (text: string): boolean {
  const start = text.trimStart()
  if (!start.startsWith('{')) return false
  try {
    const value: unknown = JSON.parse(start)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}
