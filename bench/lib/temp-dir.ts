import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Every temp dir not yet removed, so an emergency exit can remove them. */
const made = new Set<string>()

/** A fresh directory under the system temp dir (kept short: unix socket paths are limited to 107 bytes). */
export async function makeTempDir (prefix: string): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `eb-${prefix}`))
  made.add(dir)
  return dir
}

export async function removeTempDir (dir: string): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 3 })
  made.delete(dir)
}

/** Synchronous last resort for exit handlers. */
export function removeAllTempDirsNow (): void {
  for (const dir of made) {
    try { fs.rmSync(dir, { recursive: true, force: true }) } catch { /* best effort on exit */ }
  }
  made.clear()
}
