/** Parsers for what `gst-launch-1.0 -v` prints on stdout. */

/** "/GstPipeline:pipeline0/GstUDPSrc:rtcpin: port = 46880" → 46880 for element "rtcpin". */
export function udpSrcPort (line: string, element: string): number | undefined {
  const match = /\/GstUDPSrc:([^:\s]+): port = (\d+)$/.exec(line)
  if (match === null || match[1] !== element) return undefined
  const port = Number(match[2])
  return port > 0 ? port : undefined
}

/** A fakesink silent=false prints one "last-message = chain …" line per buffer it renders. */
export function isRenderedBuffer (line: string, element: string): boolean {
  return line.includes(`:${element}: last-message = chain`)
}
