import type { Fingerprint } from './types.ts'

const FINGERPRINT_LINE = /^a=fingerprint:(\S+) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)\s*$/

/** Normalised as libdatachannel reports it: algorithm lower case, hex upper case. */
export function normaliseFingerprint (algorithm: string, value: string): Fingerprint {
  return { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() }
}

/** The first `a=fingerprint:` of an SDP (session or media level), or null when it has none. */
export function fingerprintFromSdp (sdp: string): Fingerprint | null {
  for (const line of sdp.split(/\r?\n/)) {
    const match = FINGERPRINT_LINE.exec(line)
    if (match !== null) return normaliseFingerprint(match[1], match[2])
  }
  return null
}

export function sameFingerprint (a: Fingerprint | null, b: Fingerprint | null): boolean {
  return a !== null && b !== null && a.algorithm === b.algorithm && a.value === b.value
}
