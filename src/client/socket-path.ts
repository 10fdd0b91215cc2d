import { existsSync } from 'node:fs'
import { defaultSocketPath } from '../daemon/config-defaults.ts'

/** The system daemon's socket, which members of the edged group may use. */
export const SYSTEM_SOCKET = '/run/edged/edged.sock'

/**
 * The socket a client uses when it is given none: $EDGED_SOCKET if set, else
 * the user's own daemon's, else (when there is none) the system daemon's, so
 * members of the edged group need no --socket. edgectl and EdgeClient share it.
 */
export function clientSocketPath (env: NodeJS.ProcessEnv = process.env): string {
  const own = defaultSocketPath(env)
  if (env.EDGED_SOCKET !== undefined && env.EDGED_SOCKET !== '') return own
  return !existsSync(own) && existsSync(SYSTEM_SOCKET) ? SYSTEM_SOCKET : own
}
