import fs from 'node:fs/promises'
import path from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

/** Write a fresh identity where edged in `dir` (test config: `<dir>/state`) will load it; returns its peer id. */
export async function makeIdentity (dir: string): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  await fs.mkdir(path.join(dir, 'state'), { recursive: true, mode: 0o700 })
  await fs.writeFile(path.join(dir, 'state', 'identity.key'), privateKeyToProtobuf(key), { mode: 0o600 })
  return peerIdFromPrivateKey(key).toString()
}
