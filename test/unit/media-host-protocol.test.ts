import { describe, expect, it } from 'vitest'
import { encodeCommand, parseHostLine } from '../../src/media/host-protocol.ts'

describe('pipeline host line protocol', () => {
  it('encodes one command per line, id first', () => {
    const line = encodeCommand(7, { cmd: 'set', element: 'x264enc', property: 'bitrate', value: 800 })
    expect(line.endsWith('\n')).toBe(true)
    expect(line.slice(0, -1)).not.toContain('\n')
    expect(JSON.parse(line)).toEqual({ id: 7, cmd: 'set', element: 'x264enc', property: 'bitrate', value: 800 })
    expect(JSON.parse(encodeCommand(8, { cmd: 'caps', before: 'x264enc', caps: 'video/x-raw,width=640' }))).toMatchObject({ id: 8, before: 'x264enc' })
  })

  it('parses replies, refusals and events', () => {
    expect(parseHostLine('{"id":3,"ok":true,"result":{"value":800}}')).toEqual({ type: 'reply', id: 3, ok: true, result: { value: 800 } })
    expect(parseHostLine('{"id":4,"ok":false,"error":{"name":"UnknownElementError","message":"no x"}}'))
      .toEqual({ type: 'reply', id: 4, ok: false, error: { name: 'UnknownElementError', message: 'no x' } })
    expect(parseHostLine('{"event":"playing","ports":{"rtcpin":40000}}')).toEqual({ type: 'playing', ports: { rtcpin: 40000 } })
    expect(parseHostLine('{"event":"eos"}')).toEqual({ type: 'eos' })
    expect(parseHostLine('{"event":"error","element":"x264enc0","message":"boom","debug":"…"}')).toEqual({ type: 'error', element: 'x264enc0', message: 'boom' })
  })

  it('takes anything else as a stray line, never as a reply', () => {
    for (const line of ['', 'Setting pipeline to PLAYING ...', '[1,2]', 'null', '{"id":"1","ok":true}', '{"event":"reboot"}', '{"id":1}']) {
      expect(parseHostLine(line), line).toEqual({ type: 'other', line })
    }
  })

  it('keeps only real ports from the playing event', () => {
    expect(parseHostLine('{"event":"playing","ports":{"a":0,"b":70000,"c":"5","d":1.5,"e":5004}}')).toEqual({ type: 'playing', ports: { e: 5004 } })
    expect(parseHostLine('{"event":"playing","ports":null}')).toEqual({ type: 'playing', ports: {} })
  })

  it('gives a refusal without a name a name', () => {
    expect(parseHostLine('{"id":1,"ok":false}')).toEqual({ type: 'reply', id: 1, ok: false, error: { name: 'HostCommandError', message: 'refused' } })
  })
})
