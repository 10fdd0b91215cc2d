import { TRANSPORT_CC_EXTENSION_URI } from '../rtp/transport-cc-extension.ts'

/**
 * The transport-wide sequence number header extension in SDP (RFC 8285
 * `a=extmap:ID URI`, per media section). node-datachannel's Video has no
 * addExtMap, so the sender writes the line into the description it sends,
 * in the sections of its own send tracks, and the receiver reads it from
 * the description it gets. libdatachannel parses and keeps extmap lines and
 * passes RTP header extensions through untouched. The sender stamps the
 * number either way; a receiver that ignores it sends no feedback, and the
 * sender falls back to receiver reports (see congestion-controller.ts).
 */

/** The ID edged gives the extension (libdatachannel declares none of its own). */
export const TRANSPORT_CC_EXTENSION_ID = 3

/** `sdp` with `a=extmap:<id> <transport-cc URI>` added to the sections whose mid is in `mids` (once). */
export function withTransportCcExtmap (sdp: string, mids: ReadonlySet<string>, id = TRANSPORT_CC_EXTENSION_ID): string {
  if (mids.size === 0) return sdp
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const sections = sdp.split(/(?=^m=)/m)
  return sections.map(section => {
    if (!section.startsWith('m=')) return section
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1]
    if (mid === undefined || !mids.has(mid) || section.includes(TRANSPORT_CC_EXTENSION_URI)) return section
    const line = `a=extmap:${id} ${TRANSPORT_CC_EXTENSION_URI}`
    // After the mid line (any place in the section is valid; this keeps it readable).
    return section.replace(/^(a=mid:\S+)(\r?\n)/m, `$1$2${line}${eol}`)
  }).join('')
}

/** The transport-cc extension ID of each media section that declares one, by mid. */
export function transportCcExtmaps (sdp: string | undefined | null): Map<string, number> {
  const out = new Map<string, number>()
  if (sdp === undefined || sdp === null) return out
  for (const section of sdp.split(/(?=^m=)/m)) {
    if (!section.startsWith('m=')) continue
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1]
    const match = new RegExp(`^a=extmap:(\\d+)(?:/\\w+)? ${TRANSPORT_CC_EXTENSION_URI.replace(/[.]/g, '\\.')}\\s*$`, 'm').exec(section)
    if (mid === undefined || match === null) continue
    const id = Number(match[1])
    if (id >= 1 && id <= 14) out.set(mid, id)
  }
  return out
}
