import { CODECS, rtpCaps, type Codec } from './codecs.ts'
import type { FileContainer, SinkSpec } from './sink-spec.ts'
import { LOOPBACK } from './udp-socket.ts'

export const DEFAULT_JITTER_LATENCY_MS = 100
/** Names of elements whose -v output the running sink reads. */
export const RTP_IN = 'rtpin'
export const FRAME_COUNTER = 'frames'

export interface SinkPipelineOptions {
  spec: Exclude<SinkSpec, { kind: 'rtp' }>
  codec: Codec
  payloadType: number
  /** Decoder element (count and display); the first installed of CODECS[codec].decoders. */
  decoder?: string
  jitterLatencyMs?: number
}

/**
 * The gst-launch description of a sink fed with RTP on a local UDP port
 * (udpsrc port=0: gst-launch -v prints the port it got):
 *
 *   count:   udpsrc ! rtpjitterbuffer ! depay ! parse ! decoder ! fakesink silent=false
 *   file:    udpsrc ! rtpjitterbuffer ! depay ! parse ! matroskamux|webmmux|mp4mux ! filesink
 *   display: udpsrc ! rtpjitterbuffer ! depay ! parse ! decoder ! convert ! autovideosink|autoaudiosink
 *
 * Sinks are async=false: with no packets yet, the pipeline still reaches
 * PLAYING (the start signal GstProcess waits for).
 * The count sink's fakesink prints one "last-message = chain" line per decoded
 * frame (gst-launch -v): an exact count at a few hundred bytes per frame
 * (fpsdisplaysink's periodic count misses the frames after its last update).
 */
export function buildSinkPipeline (o: SinkPipelineOptions): string {
  const info = CODECS[o.codec]
  const receive = [
    `udpsrc name=${RTP_IN} address=${LOOPBACK} port=0 buffer-size=1048576 caps=${rtpCaps(info, o.payloadType)}`,
    `rtpjitterbuffer latency=${o.jitterLatencyMs ?? DEFAULT_JITTER_LATENCY_MS}`,
    info.depayloader,
    ...(info.parser !== undefined ? [info.parser] : [])
  ]
  const decoder = o.decoder ?? info.decoders[0]
  switch (o.spec.kind) {
    case 'count':
      return [...receive, decoder,
        `fakesink name=${FRAME_COUNTER} silent=false sync=false async=false`].join(' ! ')
    case 'display':
      return [...receive, decoder, ...(info.kind === 'video'
        ? ['videoconvert', 'autovideosink sync=false']
        : ['audioconvert', 'audioresample', 'autoaudiosink'])].join(' ! ')
    case 'file':
      return [...receive, muxer(o.spec.container), `filesink async=false location=${quote(o.spec.path)}`].join(' ! ')
  }
}

function muxer (container: FileContainer): string {
  switch (container) {
    case 'mkv': return 'matroskamux'
    case 'webm': return 'webmmux'
    // fragmented: a file cut short by a crash still plays up to the last fragment
    case 'mp4': return 'mp4mux fragment-duration=1000'
  }
}

function quote (value: string): string {
  return `"${value.replace(/["\\]/g, c => `\\${c}`)}"`
}
