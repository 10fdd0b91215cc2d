import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SseParser, type SseEvent } from '../../src/client/sse-parser.ts'

function parse (chunks: string[]): SseEvent[] {
  const events: SseEvent[] = []
  const parser = new SseParser(e => events.push(e))
  for (const c of chunks) parser.push(c)
  return events
}

const STREAM = [
  ': edged events',
  '',
  'event: peer:discovered',
  'data: {"peerId":"a",',
  'data:  "name":"robot-1"}',
  '',
  ': ping',
  '',
  'id: 7',
  'data: plain',
  '',
  'event: peer:lost',
  ': a comment inside an event',
  'data: {"peerId":"b"}',
  '',
  'event: no-data-so-not-dispatched',
  '',
  'data',
  '',
  'data: unterminated'
].join('\n')

const EXPECTED: SseEvent[] = [
  { type: 'peer:discovered', data: '{"peerId":"a",\n "name":"robot-1"}' },
  { type: 'message', data: 'plain', id: '7' },
  { type: 'peer:lost', data: '{"peerId":"b"}', id: '7' },
  { type: 'message', data: '', id: '7' }
]

describe('SSE parser', () => {
  it('joins multi-line data, skips comments, defaults the type, dispatches only on a blank line', () => {
    expect(parse([STREAM])).toEqual(EXPECTED)
  })

  it('gives the same events however the stream is split into chunks', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(parse([STREAM.slice(0, i), STREAM.slice(i)])).toEqual(EXPECTED)
    }
    expect(parse([...STREAM])).toEqual(EXPECTED)
    fc.assert(fc.property(fc.array(fc.nat(STREAM.length), { maxLength: 12 }), cuts => {
      const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), STREAM.length]
      const chunks = points.slice(1).map((end, i) => STREAM.slice(points[i], end))
      expect(parse(chunks)).toEqual(EXPECTED)
    }))
  })

  it('accepts \\r\\n and \\r line ends, also when a \\r\\n is split between chunks', () => {
    const crlf = 'event: x\r\ndata: 1\r\n\r\nevent: y\rdata: 2\r\r'
    const expected = [{ type: 'x', data: '1' }, { type: 'y', data: '2' }]
    expect(parse([crlf])).toEqual(expected)
    for (let i = 0; i <= crlf.length; i++) {
      expect(parse([crlf.slice(0, i), crlf.slice(i)])).toEqual(expected)
    }
    // A lone \r at a chunk's end must not make the following \n an extra blank line.
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r\n'])).toEqual([{ type: 'message', data: 'a\nb' }])
  })
})
