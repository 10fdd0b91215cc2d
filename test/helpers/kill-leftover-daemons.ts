import { afterAll } from 'vitest'
import { killLeftoverDaemons } from './edged-process.ts'

// After each test file: a test that timed out never ran its cleanup, and its
// daemons (with their GStreamer children, which die with them) must not
// outlive the run.
afterAll(() => {
  const killed = killLeftoverDaemons()
  if (killed > 0) console.warn(`killed ${killed} daemon(s) a test left running`)
})
