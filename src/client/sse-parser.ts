/** One Server-Sent Event: `type` is the `event:` field ('message' when absent). */
export interface SseEvent {
  type: string
  data: string
  id?: string
}

function nextLineEnd (text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\n' || text[i] === '\r') return i
  }
  return -1
}

/**
 * Incremental text/event-stream parser (the WHATWG EventSource rules that matter
 * here): lines end in \n, \r\n or \r; `data:` lines join with \n; a blank line
 * dispatches; lines starting with ':' are comments. Feed it decoded text in
 * chunks of any size: events and lines may be split anywhere.
 */
export class SseParser {
  private readonly onEvent: (event: SseEvent) => void
  private buffer = ''
  private afterCr = false
  private type = ''
  private data: string[] = []
  private id: string | undefined

  constructor (onEvent: (event: SseEvent) => void) {
    this.onEvent = onEvent
  }

  push (chunk: string): void {
    let text = this.buffer + chunk
    // A line that ended in \r may have its \n in this chunk: that \n ends nothing.
    if (this.afterCr && text.startsWith('\n')) text = text.slice(1)
    this.afterCr = false
    let start = 0
    for (;;) {
      const end = nextLineEnd(text, start)
      if (end === -1) break
      this.line(text.slice(start, end))
      if (text[end] === '\r' && end + 1 === text.length) this.afterCr = true
      start = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1)
    }
    this.buffer = text.slice(start)
  }

  private line (line: string): void {
    if (line === '') { this.dispatch(); return }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.type = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.id = value
    // `retry` and unknown fields are ignored: edgectl does not reconnect by itself.
  }

  private dispatch (): void {
    const type = this.type === '' ? 'message' : this.type
    const data = this.data
    this.type = ''
    this.data = []
    if (data.length === 0) return
    const event: SseEvent = { type, data: data.join('\n') }
    if (this.id !== undefined) event.id = this.id
    this.onEvent(event)
  }
}
