import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * End-to-end files that neither measure time nor load the machine: they run
 * in the parallel phase, where their waits (a negative test's seconds of
 * nothing, ICE checks through a NAT) overlap other files' work. The parallel
 * phase is bound by CPU (its files took ~360 s of CPU in ~190 s on two
 * cores), so a file moved there costs about half its CPU time, and saves its
 * whole wall time here. Every other file of test/e2e, a new one too, is serial.
 */
const E2E_SHARING = new Set([
  // Four daemons and two keys; nothing timed but "never joins" within 6 s.
  // 13.5 s serial; 13.5 s of CPU.
  'private-swarm.test.ts',
  // Namespaces, coturn and four daemons; it checks candidate types and that
  // nothing connects in 8 s, with deadlines 10× what it takes. 32-38 s serial; 31 s of CPU.
  'nat.test.ts'
])
const E2E_DIR = fileURLToPath(new URL('test/e2e/', import.meta.url))
const E2E_SERIAL = fs.readdirSync(E2E_DIR, { recursive: true, encoding: 'utf8' })
  .filter(f => f.endsWith('.test.ts') && !E2E_SHARING.has(f))
  .map(f => `test/e2e/${f}`)

/**
 * Files that measure time (frame rates, key-frame and recovery deadlines) or
 * load the machine (network namespaces, a browser, twenty daemons): they run
 * one at a time, after the rest (see scripts/run-tests.ts).
 */
const SERIAL = [
  ...E2E_SERIAL,
  'test/integration/watch-flow.test.ts',
  'test/integration/media-control.test.ts',
  'test/integration/media-flow.test.ts',
  'test/integration/media-keyframe.test.ts',
  'test/integration/media-record.test.ts',
  // pytest against two daemons: a watch counting frames, a sender stalled by backpressure.
  // Beside profiles.test.ts (parallel) a pytest case ran past its 60 s; moved, it would
  // save about 7 s (its 32 s of CPU in the parallel phase against 22 s here).
  'test/integration/python-client.test.ts',
  // The README's TypeScript example: tsc, and a watch counting frames.
  'test/integration/ts-client.test.ts',
  'test/integration/record.test.ts',
  'test/integration/video-feed.test.ts',
  'test/unit/event-loop-slicer.test.ts',
  'test/integration/foxglove-bridge.test.ts'
]

export default defineConfig({
  test: {
    // Integration tests start real daemons; two cores do not take many at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    pool: 'forks',
    setupFiles: ['test/helpers/kill-leftover-daemons.ts'],
    projects: [
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: SERIAL } },
      { extends: true, test: { name: 'serial', include: SERIAL, fileParallelism: false } }
    ]
  }
})
