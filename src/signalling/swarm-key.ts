import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import { SwarmKeyError } from '../util/errors.ts'

/**
 * The standard libp2p private-network key file (as go-ipfs/kubo and
 * @libp2p/pnet read it):
 *
 *   /key/swarm/psk/1.0.0/
 *   /base16/
 *   <64 hex digits>
 */
const SWARM_KEY = /^\/key\/swarm\/psk\/1\.0\.0\/\r?\n\/base16\/\r?\n([0-9a-fA-F]{64})\s*$/

/** A new random swarm key in the file format above. */
export function generateSwarmKey (): string {
  return `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`
}

/** Read and check a swarm key file; the bytes are what @libp2p/pnet expects. */
export async function readSwarmKey (file: string): Promise<Uint8Array> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new SwarmKeyError(file, (err as Error).message)
  }
  const hex = SWARM_KEY.exec(text)?.[1]
  if (hex === undefined) {
    throw new SwarmKeyError(file, 'not a libp2p swarm key (expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex digits on three lines)')
  }
  // Normalised: @libp2p/pnet decodes lower-case hex only.
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex.toLowerCase()}`)
}
