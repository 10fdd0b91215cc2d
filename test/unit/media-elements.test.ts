import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { elementNames, GstElements, missingElementIn, packageFor } from '../../src/media/gst-elements.ts'
import type { MissingElementError } from '../../src/util/errors.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async c => await c()))
})

describe('element → Debian package', () => {
  it('knows where the usual elements come from', () => {
    expect(packageFor('x264enc')).toBe('gstreamer1.0-plugins-ugly')
    expect(packageFor('vp8enc')).toBe('gstreamer1.0-plugins-good')
    expect(packageFor('rtpvp8pay')).toBe('gstreamer1.0-plugins-good')
    expect(packageFor('openh264enc')).toBe('gstreamer1.0-plugins-bad')
    expect(packageFor('avdec_h264')).toBe('gstreamer1.0-libav')
    expect(packageFor('opusenc')).toBe('gstreamer1.0-plugins-base')
    expect(packageFor('matroskamux')).toBe('gstreamer1.0-plugins-good')
    expect(packageFor('toString')).toBeUndefined()
  })

  it('reads gst-launch\'s "no element" into a MissingElementError', () => {
    const err = missingElementIn('WARNING: erroneous pipeline: no element "x264enc"\n')!
    expect(err.name).toBe('MissingElementError')
    expect(err.element).toBe('x264enc')
    expect(err.package).toBe('gstreamer1.0-plugins-ugly')
    expect(err.message).toContain('gstreamer1.0-plugins-ugly')
    expect(missingElementIn('ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.')).toBeUndefined()
  })

  it('lists the elements of a description, not its properties, caps or pad references', () => {
    expect(elementNames('rtpbin name=rb videotestsrc is-live=true pattern=ball ! video/x-raw,width=320 ! x264enc tune=zerolatency ! ' +
      'rb.send_rtp_sink_0 rb.send_rtp_src_0 ! udpsink host=127.0.0.1 port=5 udpsrc port=0 caps="application/x-rtcp, a=1" ! rb.recv_rtcp_sink_0 ' +
      'filesink location="/tmp/a b"')).toEqual(['rtpbin', 'videotestsrc', 'x264enc', 'udpsink', 'udpsrc', 'filesink'])
  })
})

describe('GstElements (gst-inspect-1.0)', () => {
  it('answers from the real registry', async () => {
    const elements = new GstElements()
    expect(await elements.exists('videotestsrc')).toBe(true)
    expect(await elements.exists('edgestacknosuchelement')).toBe(false)
    expect(await elements.first(['edgestacknosuchelement', 'vp8enc', 'x264enc'])).toBe('vp8enc')
    await elements.require(['videotestsrc', 'x264enc'])
    const err = await elements.require(['videotestsrc', 'rtpav1pay']).then(() => undefined, (e: unknown) => e as MissingElementError)
    expect(err?.name).toBe('MissingElementError')
    expect(err?.element).toBe('rtpav1pay')
  })

  it('reads the whole registry with one gst-inspect call', async () => {
    const { dir, cleanup } = await makeTempDir('edge-media-')
    cleanups.push(cleanup)
    const log = path.join(dir, 'calls')
    const fake = path.join(dir, 'gst-inspect')
    await fs.writeFile(fake, `#!/bin/sh\necho "call $*" >> ${log}\n` +
      'printf "udp:  udpsrc: UDP packet receiver\\nlibav:  avdec_h264: libav H.264 decoder\\n\\nTotal count: 2 plugins, 2 features\\n"\n', { mode: 0o755 })
    const elements = new GstElements(fake)
    await elements.load()
    const answers = await Promise.all([elements.exists('udpsrc'), elements.exists('avdec_h264'), elements.exists('absent'), elements.exists('Total')])
    expect(answers).toEqual([true, true, false, false])
    expect(await elements.first(['absent', 'avdec_h264'])).toBe('avdec_h264')
    expect((await fs.readFile(log, 'utf8')).split('\n').filter(Boolean)).toEqual(['call '])
  })

  it('falls back to --exists once per element when the listing fails', async () => {
    const { dir, cleanup } = await makeTempDir('edge-media-')
    cleanups.push(cleanup)
    const log = path.join(dir, 'calls')
    const fake = path.join(dir, 'gst-inspect')
    await fs.writeFile(fake, `#!/bin/sh\n[ -z "$1" ] && exit 1\necho "$2" >> ${log}\n[ "$2" = present ]\n`, { mode: 0o755 })
    const elements = new GstElements(fake)
    const answers = await Promise.all([elements.exists('present'), elements.exists('present'), elements.exists('absent')])
    expect(answers).toEqual([true, true, false])
    expect(await elements.exists('present')).toBe(true)
    expect((await fs.readFile(log, 'utf8')).split('\n').filter(Boolean).sort()).toEqual(['absent', 'present'])
  })
})
