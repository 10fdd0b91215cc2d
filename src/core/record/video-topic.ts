import { CompressedVideo } from '@foxglove/schemas/jsonschema.js'
import type { McapChannelSpec } from './mcap-file.ts'

const COMPRESSED_VIDEO_SCHEMA = Buffer.from(JSON.stringify(CompressedVideo))

/** A source's video in a recording: `/video/SOURCE`, foxglove.CompressedVideo as JSON (data in base64, as its JSON schema says). */
export function videoTopic (source: string): McapChannelSpec {
  return {
    topic: `/video/${source}`,
    messageEncoding: 'json',
    schema: { name: CompressedVideo.title, encoding: 'jsonschema', data: COMPRESSED_VIDEO_SCHEMA },
    metadata: { source }
  }
}

/** One H.264 access unit (Annex-B, SPS/PPS before each IDR) as a foxglove.CompressedVideo message. */
export function compressedVideoMessage (source: string, accessUnit: Uint8Array, timestampNs: bigint): Uint8Array {
  const sec = timestampNs / 1_000_000_000n
  const nsec = timestampNs % 1_000_000_000n
  return Buffer.from(JSON.stringify({
    timestamp: { sec: Number(sec), nsec: Number(nsec) },
    frame_id: source,
    data: Buffer.from(accessUnit.buffer, accessUnit.byteOffset, accessUnit.byteLength).toString('base64'),
    format: 'h264'
  }))
}
