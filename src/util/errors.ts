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

/** edged ended a stream edgectl was following (it is stopping or restarting). */
export class StreamClosedError extends EdgeError {}
