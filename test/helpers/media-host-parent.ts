// Started by media-pipeline-host.test.ts: a parent process that runs one
// pipeline host, prints its pid as JSON, and waits to be killed.
import { PipelineHost } from '../../src/media/pipeline-host.ts'

const host = new PipelineHost({ label: 'orphan check', pipeline: 'videotestsrc is-live=true ! fakesink', restart: false })
await host.start()
process.stdout.write(JSON.stringify({ hostPid: host.pid }) + '\n')
setInterval(() => {}, 60_000)
