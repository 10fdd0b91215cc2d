import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A fresh directory under the OS temp dir; remove it with the returned cleanup. */
export async function makeTempDir (prefix = 'edge-test-'): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix))
  return { dir, cleanup: async () => { await fs.rm(dir, { recursive: true, force: true }) } }
}
