export interface SdpCandidate {
  candidate: string
  mid: string
}

/**
 * Split a description into the description without its `a=candidate:` and
 * `a=end-of-candidates` lines, and those candidates with the mid of their
 * media section.
 */
export function takeCandidates (sdp: string): { sdp: string, candidates: SdpCandidate[] } {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const kept: string[] = []
  const candidates: SdpCandidate[] = []
  let mid = '0'
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) mid = '0'
    if (line.startsWith('a=mid:')) mid = line.slice('a=mid:'.length)
    if (line.startsWith('a=candidate:')) {
      candidates.push({ candidate: line.slice(2), mid })
      continue
    }
    if (line === 'a=end-of-candidates') continue
    kept.push(line)
  }
  return { sdp: kept.join(eol), candidates }
}
