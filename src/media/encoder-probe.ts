import { execFile } from 'node:child_process'
import { MissingElementError } from '../util/errors.ts'
import type { Codec } from './codecs.ts'
import { describeEncoder, encoderCandidates, type EncoderSpec } from './encoders.ts'
import { gstElements, missingElement, type GstElements } from './gst-elements.ts'
import { GST_LAUNCH } from './gst-process.ts'
import { splitLaunchArgs } from './launch-args.ts'
import { withParentDeathSignal } from './parent-death.ts'

export const ALL_CODECS: readonly Codec[] = ['h264', 'vp8', 'vp9', 'av1', 'opus']
export const HARDWARE_VERIFY_TIMEOUT_MS = 5_000

export interface EncoderCandidate {
  element: string
  hardware: boolean
  /** Installed (and, for hardware, able to encode a few frames). */
  available: boolean
}

/** The encoder chosen for one codec; what `edgectl sources` shows. */
export interface EncoderChoice {
  codec: Codec
  /** What goes into the pipeline: an element name, or the configured "element prop=value …"; null when none is installed. */
  encoder: string | null
  element: string | null
  hardware: boolean
  origin: 'config' | 'probe' | 'none'
  candidates: EncoderCandidate[]
  /** Why there is none (the configured or best-known element and its package). */
  missing?: { element: string, package: string | undefined }
}

export type EncoderTable = Record<Codec, EncoderChoice>

export interface ProbeInit {
  /** media.encoders from the config. */
  overrides?: Partial<Record<Codec, string>>
  elements?: GstElements
  /** Hardware encoders are registered whenever their plugin loads; check that one really encodes (default on). */
  verifyHardware?: (spec: EncoderSpec) => Promise<boolean>
}

/** The best encoder per codec: configured, else the first working hardware one, else software. */
export async function probeEncoders (init: ProbeInit = {}): Promise<EncoderTable> {
  const elements = init.elements ?? gstElements
  const verify = init.verifyHardware ?? encodesFrames
  const entries = await Promise.all(ALL_CODECS.map(async codec => await probeCodec(codec, init.overrides?.[codec], elements, verify)))
  return Object.fromEntries(entries.map(e => [e.codec, e])) as EncoderTable
}

async function probeCodec (codec: Codec, override: string | undefined, elements: GstElements,
  verify: (spec: EncoderSpec) => Promise<boolean>): Promise<EncoderChoice> {
  const specs = encoderCandidates(codec)
  const candidates: EncoderCandidate[] = await Promise.all(specs.map(async s => ({ element: s.element, hardware: s.hardware, available: await elements.exists(s.element) })))
  if (override !== undefined && override.trim() !== '') {
    const element = override.trim().split(/\s+/)[0]
    const known = specs.find(s => s.element === element)
    if (!(await elements.exists(element))) return none(codec, candidates, element)
    return { codec, encoder: override.trim(), element, hardware: known?.hardware ?? false, origin: 'config', candidates }
  }
  // hardware before software: the table is in order of preference
  for (const [i, spec] of specs.entries()) {
    if (!candidates[i].available) continue
    if (spec.hardware && !(await verify(spec))) {
      candidates[i].available = false
      continue
    }
    return { codec, encoder: spec.element, element: spec.element, hardware: spec.hardware, origin: 'probe', candidates }
  }
  const fallback = specs.find(s => !s.hardware)?.element ?? specs[0].element
  return none(codec, candidates, fallback)
}

function none (codec: Codec, candidates: EncoderCandidate[], element: string): EncoderChoice {
  const err = missingElement(element)
  return { codec, encoder: null, element: null, hardware: false, origin: 'none', candidates, missing: { element, package: err.package } }
}

/**
 * The encoder for a source: its own `encoder` if set, else the probed one.
 * Throws MissingElementError when there is none.
 */
export async function chooseEncoder (table: EncoderTable, codec: Codec, sourceEncoder?: string,
  elements: GstElements = gstElements): Promise<string> {
  if (sourceEncoder !== undefined && sourceEncoder.trim() !== '') {
    await elements.require([sourceEncoder.trim().split(/\s+/)[0]])
    return sourceEncoder.trim()
  }
  const choice = table[codec]
  if (choice.encoder === null) throw new MissingElementError(choice.missing!.element, choice.missing!.package)
  return choice.encoder
}

/** Encode a few test frames with the encoder's low-latency settings; true when gst-launch succeeds. */
export function encodesFrames (spec: EncoderSpec): Promise<boolean> {
  const raw = spec.codec === 'opus'
    ? 'audiotestsrc num-buffers=5 ! audioconvert ! audioresample'
    : 'videotestsrc num-buffers=5 ! video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert'
  const description = `${raw} ! ${describeEncoder(spec, { bitrateKbps: 1000, keyframeInterval: 30, fps: 30 })} ! fakesink`
  return new Promise(resolve => {
    const { command, args } = withParentDeathSignal(GST_LAUNCH, splitLaunchArgs(description))
    execFile(command, args, { timeout: HARDWARE_VERIFY_TIMEOUT_MS, killSignal: 'SIGKILL' }, err => resolve(err === null))
  })
}
