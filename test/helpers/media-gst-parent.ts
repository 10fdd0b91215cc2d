// Started by media-gst-process.test.ts: a parent process that runs one gst
// child, prints its pid as JSON, and waits to be killed.
import { GstProcess } from '../../src/media/gst-process.ts'

const proc = new GstProcess({ label: 'orphan check', pipeline: 'videotestsrc is-live=true ! fakesink', restart: false })
await proc.start()
process.stdout.write(JSON.stringify({ gstPid: proc.pid }) + '\n')
setInterval(() => {}, 60_000)
