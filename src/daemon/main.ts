// Entry point of edged. The compile cache (V8 code cache on disk) is enabled
// before the rest is imported: it roughly halves start-up on later runs.
import module from 'node:module'

module.enableCompileCache?.()
// The GStreamer registry listing (one gst-inspect-1.0 process, 100 ms or more) that
// the encoder probe at start waits for runs while the rest of edged loads.
const NO_DAEMON_FLAGS = new Set(['--print-config', '--help', '-h', '--version', '-V'])
if (!process.argv.slice(2).some(arg => NO_DAEMON_FLAGS.has(arg))) {
  const { gstElements } = await import('../media/gst-elements.ts')
  void gstElements.load()
}
await import('./run.ts')
