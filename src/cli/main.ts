// Entry point of edgectl. The compile cache (V8 code cache on disk) is enabled
// before the rest is imported, so every later invocation starts faster.
import module from 'node:module'

module.enableCompileCache?.()
await import('./run.ts')
