/**
 * How each encoder takes a new target bit rate while it runs: which property,
 * in which unit. One table for the daemon (the running source's setBitrate())
 * and its tests; encoders.ts sets the same properties at start, and a unit
 * test keeps the two in step.
 *
 * `live: false` marks encoders that read the property only when they start
 * (changing it would need a restart, which the caller must choose).
 */
export interface BitrateControl {
  property: string
  /** Bits per second in one unit of the property: 1 (bit/s) or 1000 (kbit/s). */
  bitsPerUnit: 1 | 1000
  /** V4L2 stateful encoders take the rate as a field of their extra-controls structure. */
  extraControl?: string
  /** The element applies a change while PLAYING. */
  live: boolean
}

const KBPS = 1000
const BPS = 1

export const BITRATE_CONTROLS: Readonly<Record<string, BitrateControl>> = {
  // software (checked here with GStreamer 1.22: a change shows in the output within a second)
  x264enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  openh264enc: { property: 'bitrate', bitsPerUnit: BPS, live: true },
  vp8enc: { property: 'target-bitrate', bitsPerUnit: BPS, live: true },
  vp9enc: { property: 'target-bitrate', bitsPerUnit: BPS, live: true },
  av1enc: { property: 'target-bitrate', bitsPerUnit: KBPS, live: true },
  opusenc: { property: 'bitrate', bitsPerUnit: BPS, live: true },
  // software, read at start only
  svtav1enc: { property: 'target-bitrate', bitsPerUnit: KBPS, live: false },
  rav1enc: { property: 'bitrate', bitsPerUnit: BPS, live: false },
  // VA-API (the va plugin and the older vaapi one): kbit/s, reconfigured on the next frame
  vah264enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vah265enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vavp8enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vavp9enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vaapih264enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vaapivp8enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  vaapivp9enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  // NVIDIA: NVENC (nvcodec) in kbit/s; Jetson's V4L2 encoder in bit/s
  nvh264enc: { property: 'bitrate', bitsPerUnit: KBPS, live: true },
  nvv4l2h264enc: { property: 'bitrate', bitsPerUnit: BPS, live: true },
  // V4L2 memory-to-memory (Raspberry Pi and others): the video_bitrate control, set again while streaming
  v4l2h264enc: { property: 'extra-controls', bitsPerUnit: BPS, extraControl: 'video_bitrate', live: true },
  v4l2vp8enc: { property: 'extra-controls', bitsPerUnit: BPS, extraControl: 'video_bitrate', live: true },
  v4l2vp9enc: { property: 'extra-controls', bitsPerUnit: BPS, extraControl: 'video_bitrate', live: true },
  // OpenMAX IL (older Raspberry Pi OS, some vendor BSPs)
  omxh264enc: { property: 'target-bitrate', bitsPerUnit: BPS, live: true },
  omxvp8enc: { property: 'target-bitrate', bitsPerUnit: BPS, live: true }
}

export function bitrateControl (element: string): BitrateControl | undefined {
  return Object.hasOwn(BITRATE_CONTROLS, element) ? BITRATE_CONTROLS[element] : undefined
}

/** The property and value that set `element`'s target to `kbps`. */
export interface BitrateSetting {
  property: string
  /** A number in the property's unit, or the extra-controls structure as text. */
  value: number | string
}

export function bitrateSetting (control: BitrateControl, kbps: number): BitrateSetting {
  const units = Math.max(1, Math.round(kbps * 1000 / control.bitsPerUnit))
  if (control.extraControl !== undefined) return { property: control.property, value: `controls,${control.extraControl}=${units}` }
  return { property: control.property, value: units }
}

/** The rate in kbit/s that a property value (as read back from the element) stands for; null when it says none. */
export function bitrateKbpsOf (control: BitrateControl, value: unknown): number | null {
  if (typeof value === 'number') return value * control.bitsPerUnit / 1000
  if (typeof value === 'string' && control.extraControl !== undefined) {
    const match = new RegExp(`${control.extraControl}=(?:\\(int\\))?(\\d+)`).exec(value)
    if (match !== null) return Number(match[1]) * control.bitsPerUnit / 1000
  }
  return null
}

/** The element factory of an encoder as the config gives it: "x264enc" or "x264enc threads=2 …". */
export function encoderElement (encoder: string): string {
  return encoder.trim().split(/\s+/)[0] ?? ''
}
