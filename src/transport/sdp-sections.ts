/** The media types of a description's m= lines, in order ("audio", "video", "application"). */
export function sdpSections (sdp: string | undefined | null): string[] {
  if (sdp === undefined || sdp === null) return []
  const kinds: string[] = []
  for (const match of sdp.matchAll(/^m=([a-z]+) /gm)) kinds.push(match[1])
  return kinds
}
