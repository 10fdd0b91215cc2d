import { execFile } from 'node:child_process'
import { MissingElementError } from '../util/errors.ts'
import { splitLaunchArgs } from './launch-args.ts'

export const GST_INSPECT = 'gst-inspect-1.0'

const BASE = 'gstreamer1.0-plugins-base'
const GOOD = 'gstreamer1.0-plugins-good'
const BAD = 'gstreamer1.0-plugins-bad'
const UGLY = 'gstreamer1.0-plugins-ugly'
const LIBAV = 'gstreamer1.0-libav'

/** The Debian package that provides an element (checked against Debian 12's GStreamer 1.22). */
export const ELEMENT_PACKAGES: Readonly<Record<string, string>> = {
  // core
  fakesink: 'libgstreamer1.0-0', identity: 'libgstreamer1.0-0', queue: 'libgstreamer1.0-0', filesink: 'libgstreamer1.0-0', fdsrc: 'libgstreamer1.0-0',
  // base
  videotestsrc: BASE, audiotestsrc: BASE, videoconvert: BASE, videoscale: BASE, videorate: BASE, audioconvert: BASE,
  audioresample: BASE, opusenc: BASE, opusdec: BASE, alsasrc: BASE, appsrc: BASE,
  // good
  v4l2src: GOOD, v4l2h264enc: GOOD, v4l2vp8enc: GOOD, v4l2vp9enc: GOOD, v4l2h264dec: GOOD, vp8enc: GOOD, vp9enc: GOOD,
  vp8dec: GOOD, vp9dec: GOOD, rtpbin: GOOD, rtpsession: GOOD, rtpjitterbuffer: GOOD, udpsrc: GOOD, udpsink: GOOD,
  rtph264pay: GOOD, rtph264depay: GOOD, rtpvp8pay: GOOD, rtpvp8depay: GOOD, rtpvp9pay: GOOD, rtpvp9depay: GOOD,
  rtpopuspay: GOOD, rtpopusdepay: GOOD, matroskamux: GOOD, webmmux: GOOD, mp4mux: GOOD, qtmux: GOOD,
  autovideosink: GOOD, autoaudiosink: GOOD, pulsesrc: GOOD, jpegdec: GOOD, splitmuxsink: GOOD,
  // bad
  openh264enc: BAD, openh264dec: BAD, av1enc: BAD, av1dec: BAD, h264parse: BAD, vp9parse: BAD, av1parse: BAD,
  fpsdisplaysink: BAD, vah264enc: BAD, vah264dec: BAD, nvh264enc: BAD, nvh264dec: BAD, srtsrc: BAD,
  // ugly
  x264enc: UGLY,
  // libav
  avdec_h264: LIBAV, avdec_vp8: LIBAV, avdec_vp9: LIBAV, avdec_av1: LIBAV,
  // elsewhere
  vaapih264enc: 'gstreamer1.0-vaapi', vaapivp8enc: 'gstreamer1.0-vaapi', vaapivp9enc: 'gstreamer1.0-vaapi',
  vaapih264dec: 'gstreamer1.0-vaapi', libcamerasrc: 'gstreamer1.0-libcamera', pipewiresrc: 'gstreamer1.0-pipewire',
  // gst-plugins-rs: not packaged in Debian 12
  rtpav1pay: 'gst-plugins-rs (not in Debian 12; GStreamer >= 1.24 with the rsrtp plugin)',
  rtpav1depay: 'gst-plugins-rs (not in Debian 12; GStreamer >= 1.24 with the rsrtp plugin)',
  rav1enc: 'gst-plugins-rs (not in Debian 12)', svtav1enc: 'gst-plugins-bad built with SVT-AV1 (not in Debian 12)', dav1ddec: 'gst-plugins-rs (not in Debian 12)',
  // vendor stacks
  nvv4l2h264enc: 'NVIDIA JetPack (nvidia-l4t-gstreamer)', nvv4l2decoder: 'NVIDIA JetPack (nvidia-l4t-gstreamer)'
}

export function packageFor (element: string): string | undefined {
  return Object.hasOwn(ELEMENT_PACKAGES, element) ? ELEMENT_PACKAGES[element] : undefined
}

export function missingElement (element: string): MissingElementError {
  return new MissingElementError(element, packageFor(element))
}

/** gst-launch's own report of an unknown element ("no element \"x\""), as a MissingElementError. */
export function missingElementIn (stderr: string): MissingElementError | undefined {
  const match = /no element "([^"]+)"/.exec(stderr)
  return match === null ? undefined : missingElement(match[1])
}

/**
 * Element factory names in a gst-launch description (best effort): every
 * word that is not a property (`=`), caps (`/`), a link (`!`) or a reference
 * to a named element's pad (`name.pad`).
 */
export function elementNames (description: string): string[] {
  const names = new Set<string>()
  for (const token of splitLaunchArgs(description.replaceAll('!', ' ! '))) {
    if (/^[a-z0-9_-]+$/i.test(token) && !/^\d+$/.test(token)) names.add(token)
  }
  return [...names]
}

/** `gst-inspect-1.0` with no argument lists every feature as `plugin:  name: description`. */
const FEATURE_LINE = /^[\w.-]+: {2}([\w.-]+): /

/** The element names in a full `gst-inspect-1.0` listing. */
export function parseFeatureList (listing: string): Set<string> {
  const names = new Set<string>()
  for (const line of listing.split('\n')) {
    const m = FEATURE_LINE.exec(line)
    if (m !== null) names.add(m[1])
  }
  return names
}

/**
 * Answers "is this element installed?". One `gst-inspect-1.0` listing of the
 * whole registry (about 60 ms) answers every later question: asking
 * `--exists` element by element costs a process each, which a sink's start
 * (ten elements) felt as most of a second. If the listing cannot be had, each
 * element is asked with `--exists`, cached.
 */
export class GstElements {
  readonly gstInspect: string
  #registry: Promise<Set<string> | undefined> | undefined
  readonly #cache = new Map<string, Promise<boolean>>()

  constructor (gstInspect = GST_INSPECT) {
    this.gstInspect = gstInspect
  }

  /** Read the registry now (daemon start), so the first pipeline does not wait for it. */
  async load (): Promise<void> {
    await this.#list()
  }

  async exists (element: string): Promise<boolean> {
    const registry = await this.#list()
    if (registry !== undefined) return registry.has(element)
    let answer = this.#cache.get(element)
    if (answer === undefined) {
      answer = new Promise(resolve => {
        execFile(this.gstInspect, ['--exists', element], { timeout: 10_000 }, err => resolve(err === null))
      })
      this.#cache.set(element, answer)
    }
    return await answer
  }

  /** Throws MissingElementError for the first element (in order) that is not installed. */
  async require (elements: Iterable<string>): Promise<void> {
    const list = [...elements]
    const present = await Promise.all(list.map(async e => await this.exists(e)))
    const missing = list.find((_, i) => !present[i])
    if (missing !== undefined) throw missingElement(missing)
  }

  /** The first installed element of `candidates`, or undefined. */
  async first (candidates: string[]): Promise<string | undefined> {
    const present = await Promise.all(candidates.map(async e => await this.exists(e)))
    return candidates.find((_, i) => present[i])
  }

  #list (): Promise<Set<string> | undefined> {
    this.#registry ??= new Promise(resolve => {
      execFile(this.gstInspect, [], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
        const names = err === null ? parseFeatureList(stdout) : undefined
        // An empty listing is no answer (a wrapper, a broken registry): ask element by element.
        resolve(names !== undefined && names.size > 0 ? names : undefined)
      })
    })
    return this.#registry
  }
}

/** One cache for the whole daemon: installed plugins do not change while it runs. */
export const gstElements = new GstElements()
