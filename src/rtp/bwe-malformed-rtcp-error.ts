import { EdgeError } from '../util/errors.ts'

/**
 * An RTP header extension or RTCP feedback message from a peer that does not
 * parse: too short, a count that the packet cannot hold, a reserved value.
 * The caller drops the packet and goes on; `format` names what was being read.
 */
export class MalformedRtcpError extends EdgeError {
  override readonly status = 400
  readonly format: string
  constructor (format: string, reason: string) {
    super(`malformed ${format}: ${reason}`)
    this.format = format
  }
}
