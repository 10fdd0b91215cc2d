import { CompressedVideo } from '@foxglove/schemas/jsonschema.js'

/**
 * foxglove.CompressedVideo as JSON, the one encoding of video that leaves
 * this daemon as messages (the Foxglove bridge, MCAP recordings): its schema
 * from @foxglove/schemas and one message per H.264 access unit.
 */
export const COMPRESSED_VIDEO_SCHEMA_NAME: string = CompressedVideo.title
export const COMPRESSED_VIDEO_JSON_SCHEMA = JSON.stringify(CompressedVideo)

/** One H.264 access unit (Annex-B, SPS/PPS before each IDR) as a foxglove.CompressedVideo message, the data in base64 as its JSON schema says. */
export function compressedVideoMessage (frameId: string, accessUnit: Uint8Array, timestampNs: bigint): Buffer {
  return Buffer.from(JSON.stringify({
    timestamp: { sec: Number(timestampNs / 1_000_000_000n), nsec: Number(timestampNs % 1_000_000_000n) },
    frame_id: frameId,
    data: Buffer.from(accessUnit.buffer, accessUnit.byteOffset, accessUnit.byteLength).toString('base64'),
    format: 'h264'
  }))
}
