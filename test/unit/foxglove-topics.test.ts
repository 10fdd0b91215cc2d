import { describe, expect, it } from 'vitest'
import { channelTopics, parseChannelTopic, videoTopic } from '../../src/foxglove/foxglove-topics.ts'
import { compressedVideoMessage } from '../../src/core/watch/compressed-video.ts'
import { isJsonObject } from '../../src/util/json-object.ts'

const PEER = '12D3KooWQm9aRcWGfD4XBNXpAuVLx3b9yYUE5rBmk8Qj6jpBLrJz'

describe('Foxglove topics', () => {
  it('names video and channel topics, and reads back the channel a client publishes on', () => {
    expect(videoTopic(undefined, 'cam').topic).toBe('/video/cam')
    expect(videoTopic(PEER, 'cam')).toMatchObject({ topic: `/peers/${PEER}/video/cam`, encoding: 'json', schemaName: 'foxglove.CompressedVideo', schemaEncoding: 'jsonschema' })
    expect(JSON.parse(videoTopic(PEER, 'cam').schema).properties.data).toMatchObject({ contentEncoding: 'base64' })
    const t = channelTopics(PEER, 'control')
    expect([t.json.topic, t.raw.topic]).toEqual([`/peers/${PEER}/channels/control`, `/peers/${PEER}/channels/control/raw`])
    expect(parseChannelTopic(t.json.topic)).toEqual({ peer: PEER, label: 'control', raw: false })
    expect(parseChannelTopic(t.raw.topic)).toEqual({ peer: PEER, label: 'control', raw: true })
    for (const bad of ['/video/cam', `/peers/${PEER}/channels/_edge`, `/peers/${PEER}/channels/a/b`, '/peers/nobody/channels/control', `/peers/${PEER}/channels/${'x'.repeat(65)}`]) {
      expect(parseChannelTopic(bad), bad).toBeUndefined()
    }
  })

  it('takes only JSON objects for the json topic', () => {
    expect(isJsonObject(' {"a":1}')).toBe(true)
    for (const text of ['[1]', '1', '"s"', 'null', '{bad', 'hello', '']) expect(isJsonObject(text), text).toBe(false)
  })

  it('encodes an access unit as foxglove.CompressedVideo', () => {
    const m = JSON.parse(compressedVideoMessage('cam', new Uint8Array([0, 0, 0, 1, 0x65]), 1_700_000_000_123_456_789n).toString())
    expect(m).toEqual({ timestamp: { sec: 1_700_000_000, nsec: 123_456_789 }, frame_id: 'cam', data: Buffer.from([0, 0, 0, 1, 0x65]).toString('base64'), format: 'h264' })
  })
})
