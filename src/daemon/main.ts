// Entry point of edged. The compile cache (V8 code cache on disk) is enabled
// before the rest is imported: it roughly halves start-up on later runs.
import module from 'node:module'

module.enableCompileCache?.()
await import('./run.ts')
