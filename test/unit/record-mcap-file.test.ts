import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { channelTopic, RAW_MESSAGE_ENCODING } from '../../src/core/record/channel-topics.ts'
import { isJsonObject } from '../../src/util/json-object.ts'
import { MCAP_CHUNK_BYTES, MCAP_PENDING_MAX_BYTES, McapFile, receiveTimeNs } from '../../src/core/record/mcap-file.ts'
import { VideoClock } from '../../src/core/watch/video-clock.ts'
import { videoTopic } from '../../src/core/record/video-topic.ts'
import { compressedVideoMessage } from '../../src/core/watch/compressed-video.ts'
import { readMcap } from '../helpers/mcap-read.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

let temp: { dir: string, cleanup: () => Promise<void> } | undefined
afterEach(async () => { await temp?.cleanup(); temp = undefined })

async function tempFile (name = 'out.mcap'): Promise<string> {
  temp = await makeTempDir('mcap-')
  return path.join(temp.dir, name)
}

describe('McapFile', () => {
  it('writes channels with their schemas, chunked and indexed; close() finalises it', async () => {
    const file = await tempFile()
    const mcap = await McapFile.create(file)
    const t0 = receiveTimeNs()
    const json = channelTopic('telemetry', 'received', true)
    const raw = channelTopic('telemetry', 'sent', false)
    // About three chunks of messages.
    const big = Buffer.alloc(64 * 1024, 7)
    const n = Math.ceil(3 * MCAP_CHUNK_BYTES / big.byteLength)
    for (let i = 0; i < n; i++) {
      expect(mcap.write(json, Buffer.from(JSON.stringify({ i })), t0 + BigInt(i) * 1000n)).toBe(true)
      expect(mcap.write(raw, big, t0 + BigInt(i) * 1000n + 1n)).toBe(true)
    }
    await mcap.close()
    await mcap.close()
    expect(mcap.write(json, Buffer.from('{}'), t0)).toBe(false)
    expect(mcap.stats).toEqual({ messages: 2 * n, bytes: expect.any(Number), dropped: 0 })

    const { reader, messages, records } = await readMcap(file)
    expect(messages).toHaveLength(2 * n)
    expect(messages.filter(m => m.topic === '/channels/telemetry').map(m => JSON.parse(Buffer.from(m.data).toString()).i)).toEqual([...Array(n).keys()])
    const rawMessages = messages.filter(m => m.topic === '/channels/telemetry/sent/raw')
    expect(rawMessages).toHaveLength(n)
    expect(rawMessages[0].messageEncoding).toBe(RAW_MESSAGE_ENCODING)
    expect(rawMessages[0].schemaName).toBeNull()
    expect(messages[0]).toMatchObject({ messageEncoding: 'json', schemaName: 'edge.channel.telemetry' })
    for (let i = 1; i < messages.length; i++) expect(messages[i].logTime >= messages[i - 1].logTime).toBe(true)
    // Indexed and summarised: the statistics, a chunk index per chunk, the footer.
    expect(reader.statistics?.messageCount).toBe(BigInt(2 * n))
    expect(reader.chunkIndexes.length).toBeGreaterThanOrEqual(3)
    expect(records.Footer).toBe(1)
    expect(records.DataEnd).toBe(1)
    expect(records.ChunkIndex).toBe(reader.chunkIndexes.length)
    expect(records.MessageIndex).toBeGreaterThanOrEqual(reader.chunkIndexes.length)
  })

  it('drops (and counts) what is beyond MCAP_PENDING_MAX_BYTES while the disk is behind, and the file stays valid', async () => {
    const file = await tempFile()
    const mcap = await McapFile.create(file)
    const spec = channelTopic('camera-raw', 'received', false)
    const block = Buffer.alloc(1024 * 1024)
    let taken = 0
    // All in one tick: nothing reaches the disk meanwhile.
    for (let i = 0; i < MCAP_PENDING_MAX_BYTES / block.byteLength + 10; i++) if (mcap.write(spec, block, receiveTimeNs())) taken++
    expect(taken).toBe(MCAP_PENDING_MAX_BYTES / block.byteLength)
    expect(mcap.stats.dropped).toBe(10)
    await mcap.close()
    const { messages } = await readMcap(file)
    expect(messages).toHaveLength(taken)
  })

  it('refuses a file that exists (ConflictError) and a directory that does not (BadRequestError)', async () => {
    const file = await tempFile()
    await fs.writeFile(file, 'mine')
    await expect(McapFile.create(file)).rejects.toMatchObject({ name: 'ConflictError' })
    expect(await fs.readFile(file, 'utf8')).toBe('mine')
    await expect(McapFile.create(path.join(path.dirname(file), 'no', 'such', 'x.mcap'))).rejects.toMatchObject({ name: 'BadRequestError' })
  })
})

describe('recording topics', () => {
  it('puts JSON-object text on a JSON-schema topic and everything else on a raw one', () => {
    expect(isJsonObject('{"a":1}')).toBe(true)
    expect(isJsonObject('  {"a":[1,2]}')).toBe(true)
    expect(isJsonObject('[1,2]')).toBe(false)
    expect(isJsonObject('{"a":')).toBe(false)
    expect(isJsonObject('hello')).toBe(false)
    expect(channelTopic('cmd', 'received', true)).toMatchObject({ topic: '/channels/cmd', messageEncoding: 'json', schema: { encoding: 'jsonschema' } })
    expect(channelTopic('cmd', 'sent', false)).toMatchObject({ topic: '/channels/cmd/sent/raw', messageEncoding: RAW_MESSAGE_ENCODING })
  })

  it('writes foxglove.CompressedVideo with its JSON schema, the access unit in base64', () => {
    const spec = videoTopic('front')
    expect(spec.schema?.name).toBe('foxglove.CompressedVideo')
    const schema = JSON.parse(Buffer.from(spec.schema?.data ?? []).toString())
    expect(schema.required).toEqual(expect.arrayContaining(['timestamp', 'frame_id', 'data', 'format']))
    const unit = Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 3])
    const message = JSON.parse(Buffer.from(compressedVideoMessage('front', unit, 1_700_000_000_123_456_789n)).toString())
    expect(message).toEqual({ timestamp: { sec: 1_700_000_000, nsec: 123_456_789 }, frame_id: 'front', data: unit.toString('base64'), format: 'h264' })
  })

  it('VideoClock spaces frames by their RTP timestamps across a wrap, and re-anchors on a jump', () => {
    const clock = new VideoClock()
    const t0 = 1_000_000_000_000n
    const start = 0xffffffff - 3000 + 1
    expect(clock.timestamp(start, t0)).toBe(t0)
    // 3000 ticks at 90 kHz = 33.3 ms later, across the 32-bit wrap; received with jitter.
    expect(clock.timestamp((start + 3000) >>> 0, t0 + 40_000_000n)).toBe(t0 + 33_333_333n)
    expect(clock.timestamp((start + 6000) >>> 0, t0 + 61_000_000n)).toBe(t0 + 66_666_666n)
    // A new RTP base (a remade track): the receive time is the new anchor.
    expect(clock.timestamp(12345, t0 + 5_000_000_000n)).toBe(t0 + 5_000_000_000n)
  })
})
