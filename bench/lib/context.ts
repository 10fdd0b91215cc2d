import { Child } from './child.ts'
import { Scope } from './scope.ts'
import { makeTempDir, removeTempDir } from './temp-dir.ts'
import type { BenchContext } from './types.ts'

/** A context whose processes and temp dirs all go away when its scope closes. */
export function createContext (repoRoot: string, runs: number | undefined, benchmarkName: string): BenchContext {
  const scope = new Scope()
  return {
    repoRoot,
    runs,
    scope,
    log: message => { process.stderr.write(`[${benchmarkName}] ${message}\n`) },
    tempDir: async prefix => {
      const dir = await makeTempDir(prefix)
      scope.defer(async () => { await removeTempDir(dir) })
      return dir
    },
    spawn: (command, args, options) => {
      const child = new Child(command, args, options)
      scope.defer(async () => { await child.stop() })
      return child
    }
  }
}
