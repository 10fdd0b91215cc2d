import fs from 'node:fs/promises'
import path from 'node:path'
import type { Command } from 'commander'
import { generateSwarmKey } from '../../signalling/swarm-key.ts'
import { EdgeError, FileExistsError } from '../../util/errors.ts'
import type { CliContext } from '../cli-context.ts'

export const DEFAULT_KEY_FILE = 'swarm.key'
const KEY_MODE = 0o600

/**
 * Write a new private-swarm key to `file`, readable by its owner only. An
 * existing file is kept unless `force`; a replaced one is written beside it
 * and renamed over it, so it is never seen half-written or with a wider mode.
 */
export async function writeSwarmKey (file: string, force: boolean): Promise<void> {
  const key = generateSwarmKey()
  if (!force) {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(file, 'wx', KEY_MODE)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(file)
      throw new EdgeError(`cannot write ${file}: ${(err as Error).message}`)
    }
    try {
      await handle.writeFile(key)
      await handle.chmod(KEY_MODE) // the umask may have narrowed nothing, but never widened
    } finally {
      await handle.close()
    }
    return
  }
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  try {
    await fs.writeFile(temp, key, { mode: KEY_MODE, flag: 'wx' })
    await fs.rename(temp, file)
  } catch (err) {
    await fs.rm(temp, { force: true })
    throw new EdgeError(`cannot write ${file}: ${(err as Error).message}`)
  }
}

export function keygenCommand (program: Command, cli: CliContext): void {
  program.command('keygen')
    .description('write a new private-swarm key (swarm.key) for every daemon of the swarm (config swarm.key)')
    .argument('[file]', 'where to write it', DEFAULT_KEY_FILE)
    .option('--force', 'replace an existing file')
    .action(async (file: string, opts: { force?: boolean }, cmd: Command) => {
      const where = path.resolve(file)
      await writeSwarmKey(where, opts.force === true)
      if (cli.json(cmd)) cli.printJson({ file: where, mode: '0600' })
      else cli.io.stdout(`wrote swarm key ${where} (mode 0600): copy it to every daemon of the swarm and set swarm.key to its path\n`)
    })
}
