/** Base of every Edge Stack error: `name` is stable and what tests and clients match on. */
export class EdgeError extends Error {
  /** HTTP status the control API answers with when this error reaches it. */
  readonly status: number = 500
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

export class ConfigError extends EdgeError {
  override readonly status = 400
  readonly file: string
  readonly problems: Array<{ key: string, message: string }>
  constructor (file: string, problems: Array<{ key: string, message: string }>) {
    super(`invalid config ${file}:\n` + problems.map(p => `  ${p.key === '' ? '(root)' : p.key}: ${p.message}`).join('\n'))
    this.file = file
    this.problems = problems
  }
}

export class SocketInUseError extends EdgeError {
  readonly socket: string
  constructor (socket: string) {
    super(`another edged is already answering on ${socket}; stop it or choose another control.socket`)
    this.socket = socket
  }
}

export class BadRequestError extends EdgeError {
  override readonly status = 400
}

export class NotFoundError extends EdgeError {
  override readonly status = 404
}

export class ConflictError extends EdgeError {
  override readonly status = 409
}

export class ForbiddenError extends EdgeError {
  override readonly status = 403
}

/** A web listener request without the right bearer token (web.token). */
export class UnauthorizedError extends EdgeError {
  override readonly status = 401
}

export class TimeoutError extends EdgeError {
  override readonly status = 504
}

export class ProtocolError extends EdgeError {
  override readonly status = 502
  readonly code: string
  constructor (message: string, code: string = 'protocol') {
    super(message)
    this.code = code
  }
}

/** edgectl could not reach edged on its control socket (missing, refused, or not allowed). */
export class DaemonNotRunningError extends EdgeError {
  override readonly status = 503
  readonly socket: string
  /** The system error code behind it: ENOENT, ECONNREFUSED, EACCES, ... */
  readonly code: string
  constructor (socket: string, code: string, options?: ErrorOptions) {
    super(code === 'EACCES' || code === 'EPERM'
      ? `permission denied on socket ${socket} (are you in the edged group?)`
      : `edged is not running (socket ${socket})`, options)
    this.socket = socket
    this.code = code
  }
}

/** The control API answered with an error body: `remoteName` is the daemon's error name. */
export class DaemonError extends EdgeError {
  override readonly status: number
  readonly remoteName: string
  constructor (status: number, remoteName: string, message: string) {
    super(message)
    this.status = status
    this.remoteName = remoteName
  }
}

/** The private-swarm key file (swarm.key) is missing or malformed. */
export class SwarmKeyError extends EdgeError {
  readonly file: string
  constructor (file: string, reason: string) {
    super(`swarm key ${file}: ${reason}`)
    this.file = file
  }
}

/** libp2p could not start, typically because a swarm.listen address is taken. */
export class SwarmListenError extends EdgeError {
  readonly addresses: string[]
  constructor (addresses: string[], cause: unknown) {
    super(`cannot start libp2p listening on ${addresses.join(', ')}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.addresses = addresses
  }
}

/** The web listener could not bind web.listen (taken, or not an address of this host). */
export class WebListenError extends EdgeError {
  readonly listen: string
  constructor (listen: string, cause: unknown) {
    super(`cannot start the web listener on ${listen}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.listen = listen
  }
}

/** foxglove.listen could not be listened on (address in use, not an address of this host). */
export class FoxgloveListenError extends EdgeError {
  readonly listen: string
  constructor (listen: string, cause: unknown) {
    super(`cannot start the Foxglove listener on ${listen}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.listen = listen
  }
}

/** edged ended a stream edgectl was following (it is stopping or restarting). */
export class StreamClosedError extends EdgeError {}

/** A remote offer, answer or candidate that is malformed, oversized or out of place; the session is left as it was. */
export class InvalidSignalError extends EdgeError {
  override readonly status = 400
}

/** A data channel message over the channel's negotiated max-message-size. */
export class MessageTooLargeError extends EdgeError {
  override readonly status = 413
  readonly size: number
  readonly limit: number
  constructor (label: string, size: number, limit: number) {
    super(`message of ${size} bytes is over channel ${label}'s max message size of ${limit} bytes; split it or use write() in chunks`)
    this.size = size
    this.limit = limit
  }
}

/** Sending on a data channel that is not open (not yet, or no longer). */
export class ChannelNotOpenError extends EdgeError {
  override readonly status = 409
}

/** An operation on a PeerSession after close(). */
export class SessionClosedError extends EdgeError {
  override readonly status = 409
}

/** A stack profile the transport layer cannot run (yet). */
export class UnsupportedProfileError extends EdgeError {
  override readonly status = 400
}

/** A message to the service manager (sd_notify: READY=1, WATCHDOG=1, ...) could not be delivered. */
export class NotifyError extends EdgeError {
  readonly socket: string
  constructor (socket: string, reason: string, options?: ErrorOptions) {
    super(`sd_notify to ${socket} failed: ${reason}`, options)
    this.socket = socket
  }
}

/** A GStreamer element (plugin) the pipeline needs is not installed; `package` is the Debian package that provides it, when known. */
export class MissingElementError extends EdgeError {
  override readonly status = 501
  readonly element: string
  readonly package: string | undefined
  constructor (element: string, pkg: string | undefined) {
    super(pkg === undefined
      ? `GStreamer element ${element} is not installed (install the GStreamer plugin that provides it)`
      : `GStreamer element ${element} is not installed: install the Debian package ${pkg}`)
    this.element = element
    this.package = pkg
  }
}

/** A gst-launch process exited before it reached PLAYING, or failed for good; `stderrTail` is the end of what it printed. */
export class PipelineError extends EdgeError {
  readonly stderrTail: string
  readonly exitCode: number | null
  readonly signal: string | null
  constructor (message: string, stderrTail: string, exitCode: number | null = null, signal: string | null = null) {
    super(stderrTail === '' ? message : `${message}\n--- gst-launch stderr (tail) ---\n${stderrTail}`)
    this.stderrTail = stderrTail
    this.exitCode = exitCode
    this.signal = signal
  }
}

/** A gst-launch process did not reach PLAYING (or produce its first packet) within its start timeout. */
export class PipelineStartTimeoutError extends EdgeError {
  override readonly status = 504
  readonly stderrTail: string
  readonly timeoutMs: number
  constructor (what: string, timeoutMs: number, stderrTail: string) {
    super(`${what} did not start within ${timeoutMs} ms` + (stderrTail === '' ? '' : `\n--- gst-launch stderr (tail) ---\n${stderrTail}`))
    this.stderrTail = stderrTail
    this.timeoutMs = timeoutMs
  }
}

/** A sink spec that is not count, file:PATH, rtp://HOST:PORT or display. */
export class InvalidSinkError extends EdgeError {
  override readonly status = 400
}

/** The display sink was asked for where there is no display (no DISPLAY or WAYLAND_DISPLAY). */
export class NoDisplayError extends EdgeError {
  override readonly status = 409
}

/** A file edgectl would write (such as a swarm key) exists already; --force replaces it. */
export class FileExistsError extends EdgeError {
  override readonly status = 409
  readonly file: string
  constructor (file: string) {
    super(`${file} exists already; use --force to replace it`)
    this.file = file
  }
}

/** A peer's source could not start or stopped for good while being watched. */
export class SourceFailedError extends EdgeError {
  override readonly status = 502
}

/** The peer ended a watch (it is stopping, or it ended the session). */
export class WatchEndedError extends EdgeError {
  override readonly status = 410
}

/** An in-process consumer (Foxglove, MCAP) asked for a source in a codec it cannot take (it takes H.264 video). */
export class UnsupportedCodecError extends EdgeError {
  override readonly status = 400
}

/** A WHEP/WHIP offer that is not usable SDP, or offers nothing this daemon can send or receive. */
export class BadSdpError extends EdgeError {
  override readonly status = 400
}

/** A WHEP/WHIP request whose body is not application/sdp. */
export class UnsupportedMediaTypeError extends EdgeError {
  override readonly status = 415
}

/** A peer has as many channels with us as it may (MAX_CHANNELS_PER_PEER): close some first. */
export class TooManyChannelsError extends EdgeError {
  override readonly status = 409
}

/** libdatachannel refused a new data channel (e.g. "Too many DataChannels": the session's SCTP streams are used up). */
export class ChannelOpenError extends EdgeError {
  override readonly status = 503
}

/** One client (a control-socket connection, a browser session) has created as many channel labels as it may. */
export class TooManyLabelsError extends EdgeError {
  override readonly status = 429
}

/** The web listener serves as many browser sessions as it may (WHEP/WHIP). */
export class TooManySessionsError extends EdgeError {
  override readonly status = 503
}

/** A running pipeline was asked to change (bit rate, format, key frame, stats) while none runs: it is starting, restarting or stopped. */
export class PipelineNotRunningError extends EdgeError {
  override readonly status = 409
}

/** A running pipeline refused a command (no such element or property, a bad value); `reason` is the pipeline host's own error name. */
export class PipelineCommandError extends EdgeError {
  override readonly status = 409
  readonly reason: string
  constructor (message: string, reason: string) {
    super(message)
    this.reason = reason
  }
}

/** A running pipeline did not answer a command in time. */
export class PipelineCommandTimeoutError extends EdgeError {
  override readonly status = 504
}

/** A source's encoder has no bit-rate property it changes while running (or it is not a known encoder). */
export class BitrateNotAdjustableError extends EdgeError {
  override readonly status = 409
}

/** A source cannot produce the resolution or frame rate asked for (its pipeline cannot convert to it), or is not video. */
export class VideoFormatUnsupportedError extends EdgeError {
  override readonly status = 409
}

/** An inbound kad-dht stream carried more than edged's limit (see signalling/kad-stream-guard.ts). */
export class KadStreamTooLargeError extends EdgeError {}

/** A DHT record put, refused: edged reads no DHT records, so it stores none for others. */
export class DhtRecordRefusedError extends EdgeError {}
