import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { ClientSocket, DATA_DROP_BYTES, MAX_CLIENT_BUFFER_BYTES, VIDEO_DROP_BYTES, VIDEO_RESUME_BYTES, type Outgoing } from '../../src/foxglove/client-socket.ts'

/** The bits of a ws WebSocket ClientSocket uses; bufferedAmount set by the test. */
class FakeWs {
  readonly OPEN = 1
  readyState = 1
  bufferedAmount = 0
  binaryType = 'nodebuffer'
  protocol = 'foxglove.websocket.v1'
  sent: unknown[] = []
  closed: number | undefined
  on (): this { return this }
  send (data: unknown): void { this.sent.push(data) }
  close (code: number): void { this.closed = code }
}

/** A MESSAGE_DATA frame (opcode 1, subscription id, timestamp, payload) as FoxgloveServer builds it. */
function frame (sub: number): Uint8Array {
  const b = new Uint8Array(1 + 4 + 8 + 4)
  const v = new DataView(b.buffer)
  v.setUint8(0, 1)
  v.setUint32(1, sub, true)
  return b
}

function setup (): { ws: FakeWs, socket: ClientSocket, send: (out: Outgoing | undefined, data: Uint8Array | string) => boolean, asked: () => number } {
  const ws = new FakeWs()
  let current: Outgoing | undefined
  let asked = 0
  const socket = new ClientSocket(ws as unknown as WebSocket, () => current, pino({ level: 'silent' }))
  return {
    ws,
    socket,
    asked: () => asked,
    send: (out, data) => {
      current = out === undefined ? undefined : { ...out, requestKeyFrame: () => { asked++ } }
      const before = ws.sent.length
      socket.send(data)
      current = undefined
      return ws.sent.length > before
    }
  }
}

const video = (keyFrame: boolean): Outgoing => ({ video: true, keyFrame, requestKeyFrame: () => {} })
const data: Outgoing = { video: false, keyFrame: false, requestKeyFrame: () => {} }

describe('Foxglove ClientSocket', () => {
  it('starts each video subscription at a key frame, asking for one once', () => {
    const { send, asked, socket } = setup()
    expect(send(undefined, '{"op":"serverInfo"}')).toBe(true)
    expect(send(video(false), frame(1))).toBe(false)
    expect(send(video(false), frame(1))).toBe(false)
    expect(asked()).toBe(1)
    expect(send(video(true), frame(1))).toBe(true)
    expect(send(video(false), frame(1))).toBe(true)
    // Another subscription of the same client waits for its own key frame.
    expect(send(video(false), frame(2))).toBe(false)
    expect(asked()).toBe(2)
    expect(socket.stats).toMatchObject({ droppedFrames: 3 })
  })

  it('a slow client loses video until it has caught up and a key frame comes, then other messages, then is closed', () => {
    const { ws, send, asked } = setup()
    expect(send(video(true), frame(1))).toBe(true)
    ws.bufferedAmount = VIDEO_DROP_BYTES + 1
    expect(send(video(false), frame(1))).toBe(false)
    // A key frame while still behind is dropped too; no key frame is asked for yet.
    expect(send(video(true), frame(1))).toBe(false)
    expect(asked()).toBe(0)
    expect(send(data, frame(9))).toBe(true)
    ws.bufferedAmount = VIDEO_RESUME_BYTES - 1
    expect(send(video(false), frame(1))).toBe(false)
    expect(asked()).toBe(1)
    expect(send(video(false), frame(1))).toBe(false)
    expect(asked()).toBe(1)
    expect(send(video(true), frame(1))).toBe(true)
    expect(send(video(false), frame(1))).toBe(true)

    ws.bufferedAmount = DATA_DROP_BYTES + 1
    expect(send(data, frame(9))).toBe(false)
    expect(send(undefined, '{"op":"advertise"}')).toBe(true)
    ws.bufferedAmount = MAX_CLIENT_BUFFER_BYTES + 1
    expect(send(undefined, '{"op":"advertise"}')).toBe(false)
    expect(ws.closed).toBe(1008)
  })

  it('keeps the state of a bounded number of subscriptions (the oldest is forgotten)', () => {
    const { send } = setup()
    expect(send(video(true), frame(0))).toBe(true)
    expect(send(video(false), frame(0))).toBe(true)
    for (let sub = 1; sub < 1100; sub++) send(video(false), frame(sub))
    // Forgotten: taken for a new subscription, which waits for a key frame.
    expect(send(video(false), frame(0))).toBe(false)
  })
})
