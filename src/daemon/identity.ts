import fs from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { EdgeError } from '../util/errors.ts'

export const IDENTITY_FILE = 'identity.key'

export class IdentityError extends EdgeError {}

/**
 * Load the daemon's Ed25519 key from `<stateDir>/identity.key`, or create it
 * (mode 0600, written atomically) on first start, so the peer id survives restarts.
 */
export async function loadOrCreateIdentity (stateDir: string): Promise<PrivateKey> {
  const file = path.join(stateDir, IDENTITY_FILE)
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 })
  try {
    const bytes = await fs.readFile(file)
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new IdentityError(`identity ${file} is corrupt (${String(err)}); move it away to create a new peer id`)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof IdentityError) throw err
      throw new IdentityError(`cannot read identity ${file}: ${(err as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  await fs.rename(tmp, file)
  return key
}
