import { defineConfig } from 'vitest/config'

/**
 * Files that measure time (frame rates, key-frame and recovery deadlines) or
 * load the machine (network namespaces, a browser, twenty daemons): they run
 * one at a time, after the rest (see scripts/run-tests.ts).
 */
const SERIAL = [
  'test/e2e/**/*.test.ts',
  'test/integration/watch-flow.test.ts',
  'test/integration/media-control.test.ts',
  'test/integration/media-flow.test.ts',
  'test/integration/media-keyframe.test.ts',
  'test/integration/media-record.test.ts',
  // pytest against two daemons: a watch counting frames, a sender stalled by backpressure.
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
