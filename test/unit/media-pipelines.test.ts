import { describe, expect, it } from 'vitest'
import { rtpCaps, CODECS } from '../../src/media/codecs.ts'
import { isRenderedBuffer, udpSrcPort } from '../../src/media/gst-output.ts'
import { buildSinkPipeline } from '../../src/media/sink-pipeline.ts'
import { formatSinkSpec, parseSinkSpec } from '../../src/media/sink-spec.ts'
import { buildSourcePipeline, sourceSettings } from '../../src/media/source-pipeline.ts'
import { InvalidSinkError } from '../../src/util/errors.ts'

describe('source pipeline', () => {
  it('fills in codec, bit rate and key-frame interval defaults', () => {
    expect(sourceSettings({ kind: 'video', pipeline: 'v4l2src' })).toEqual({
      kind: 'video', codec: 'h264', raw: 'v4l2src', width: undefined, height: undefined, fps: 30, bitrateKbps: 1500, keyframeInterval: 60
    })
    expect(sourceSettings({ kind: 'audio', pipeline: 'alsasrc' })).toMatchObject({ codec: 'opus', bitrateKbps: 64 })
    expect(sourceSettings({ kind: 'video', pipeline: 'x', codec: 'vp8', fps: 15, keyframeInterval: 45 })).toMatchObject({ codec: 'vp8', fps: 15, keyframeInterval: 45 })
  })

  it('builds raw → scale → encoder → payloader (mtu, pt, ssrc) → rtpbin → udpsink, with an RTCP input', () => {
    const p = buildSourcePipeline({
      kind: 'video', codec: 'h264', raw: 'videotestsrc is-live=true', encoder: 'x264enc', width: 640, height: 480, fps: 30,
      bitrateKbps: 1500, keyframeInterval: 90, mtu: 1200, payloadType: 102, ssrc: 0xdeadbeef, rtpPort: 40000
    })
    expect(p).toContain('videotestsrc is-live=true ! videoconvert ! videoscale ! video/x-raw,width=640,height=480,framerate=30/1 ! queue')
    expect(p).toContain('x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=90 bitrate=1500 aud=false ! video/x-h264,profile=constrained-baseline')
    expect(p).toContain(`rtph264pay pt=102 ssrc=${0xdeadbeef} mtu=1200 config-interval=-1 aggregate-mode=zero-latency ! rtpbin.send_rtp_sink_0`)
    expect(p).toContain('rtpbin.send_rtp_src_0 ! udpsink host=127.0.0.1 port=40000 sync=false async=false')
    expect(p).toContain('udpsrc name=rtcpin address=127.0.0.1 port=0 caps=application/x-rtcp ! rtpbin.recv_rtcp_sink_0')
    expect(p).not.toContain('seqnum-offset')
  })

  it('continues sequence numbers and timestamps after a restart, and builds audio', () => {
    const p = buildSourcePipeline({
      kind: 'audio', codec: 'opus', raw: 'audiotestsrc', encoder: 'opusenc', fps: 30, bitrateKbps: 64, keyframeInterval: 1,
      mtu: 1200, payloadType: 111, ssrc: 5, rtpPort: 1, seqnumOffset: 65536 + 7, timestampOffset: 2 ** 32 + 9
    })
    expect(p).toContain('audiotestsrc ! audioconvert ! audioresample ! audio/x-raw,rate=48000 ! opusenc bitrate=64000 frame-size=20')
    expect(p).toContain('rtpopuspay pt=111 ssrc=5 mtu=1200 seqnum-offset=7 timestamp-offset=9')
    expect(() => buildSourcePipeline({ kind: 'audio', codec: 'vp8', raw: 'x', encoder: 'vp8enc', fps: 30, bitrateKbps: 1, keyframeInterval: 1, mtu: 1200, payloadType: 1, ssrc: 1, rtpPort: 1 }))
      .toThrow(TypeError)
  })
})

describe('sink spec', () => {
  it('parses count, display, file:PATH by extension and rtp://HOST:PORT', () => {
    expect(parseSinkSpec('count')).toEqual({ kind: 'count' })
    expect(parseSinkSpec('display')).toEqual({ kind: 'display' })
    expect(parseSinkSpec('file:/tmp/a.MKV')).toEqual({ kind: 'file', path: '/tmp/a.MKV', container: 'mkv' })
    expect(parseSinkSpec('file:/tmp/a.mp4')).toMatchObject({ container: 'mp4' })
    expect(parseSinkSpec('file:rel.webm')).toMatchObject({ container: 'webm', path: `${process.cwd()}/rel.webm` })
    expect(parseSinkSpec('rtp://127.0.0.1:5004')).toEqual({ kind: 'rtp', host: '127.0.0.1', port: 5004 })
    expect(parseSinkSpec('rtp://[::1]:5004')).toEqual({ kind: 'rtp', host: '::1', port: 5004 })
    expect(formatSinkSpec(parseSinkSpec('rtp://[::1]:5004'))).toBe('rtp://[::1]:5004')
  })

  it('rejects anything else with InvalidSinkError', () => {
    for (const bad of ['', 'counter', 'file:', 'file:/tmp/a.avi', 'rtp://host', 'rtp://host:0', 'rtp://host:70000', 'udp://h:1']) {
      expect(() => parseSinkSpec(bad), bad).toThrow(InvalidSinkError)
    }
  })
})

describe('sink pipeline', () => {
  it('count decodes into a fakesink that reports every buffer', () => {
    const p = buildSinkPipeline({ spec: { kind: 'count' }, codec: 'h264', payloadType: 96, decoder: 'avdec_h264' })
    expect(p).toBe(`udpsrc name=rtpin address=127.0.0.1 port=0 buffer-size=1048576 caps=${rtpCaps(CODECS.h264, 96)} ! rtpjitterbuffer latency=100 ! ` +
      'rtph264depay ! h264parse ! avdec_h264 ! fakesink name=frames silent=false sync=false async=false')
  })

  it('file: muxes without decoding, the path quoted for gst-launch', () => {
    const p = buildSinkPipeline({ spec: { kind: 'file', path: '/tmp/my "rec".webm', container: 'webm' }, codec: 'vp8', payloadType: 97, jitterLatencyMs: 200 })
    expect(p).toContain('rtpjitterbuffer latency=200 ! rtpvp8depay ! webmmux ! filesink async=false location="/tmp/my \\"rec\\".webm"')
    expect(p).not.toContain('dec')
    expect(buildSinkPipeline({ spec: { kind: 'file', path: '/x.mp4', container: 'mp4' }, codec: 'h264', payloadType: 96 })).toContain('h264parse ! mp4mux fragment-duration=1000')
  })

  it('display converts to the automatic sink', () => {
    expect(buildSinkPipeline({ spec: { kind: 'display' }, codec: 'vp8', payloadType: 97 })).toMatch(/vp8dec ! videoconvert ! autovideosink sync=false$/)
    expect(buildSinkPipeline({ spec: { kind: 'display' }, codec: 'opus', payloadType: 111 })).toMatch(/opusdec ! audioconvert ! audioresample ! autoaudiosink$/)
  })
})

describe('gst-launch -v output', () => {
  it('reads the port a named udpsrc bound and the buffers a named fakesink rendered', () => {
    expect(udpSrcPort('/GstPipeline:pipeline0/GstUDPSrc:rtpin: port = 46880', 'rtpin')).toBe(46880)
    expect(udpSrcPort('/GstPipeline:pipeline0/GstUDPSrc:rtcpin: port = 46880', 'rtpin')).toBeUndefined()
    expect(udpSrcPort('/GstPipeline:pipeline0/GstUDPSrc:rtpin: port = 0', 'rtpin')).toBeUndefined()
    expect(isRenderedBuffer('/GstPipeline:pipeline0/GstFakeSink:frames: last-message = chain   ******* (frames:sink) (115200 bytes, dts: none)', 'frames')).toBe(true)
    expect(isRenderedBuffer('/GstPipeline:pipeline0/GstFakeSink:frames: last-message = event   ******* (frames:sink) E (type: eos (28174), )', 'frames')).toBe(false)
  })
})
