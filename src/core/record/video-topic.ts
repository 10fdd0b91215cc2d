import { COMPRESSED_VIDEO_JSON_SCHEMA, COMPRESSED_VIDEO_SCHEMA_NAME } from '../watch/compressed-video.ts'
import type { McapChannelSpec } from './mcap-file.ts'

const COMPRESSED_VIDEO_SCHEMA = Buffer.from(COMPRESSED_VIDEO_JSON_SCHEMA)

/** A source's video in a recording: `/video/SOURCE`, foxglove.CompressedVideo as JSON (data in base64, as its JSON schema says). */
export function videoTopic (source: string): McapChannelSpec {
  return {
    topic: `/video/${source}`,
    messageEncoding: 'json',
    schema: { name: COMPRESSED_VIDEO_SCHEMA_NAME, encoding: 'jsonschema', data: COMPRESSED_VIDEO_SCHEMA },
    metadata: { source }
  }
}

