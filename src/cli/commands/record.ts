import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import type { RecordingInfo, RecordRequest } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatBytes } from '../format-bytes.ts'
import { FOLLOW_INTERVAL_MS } from './watch.ts'

/** Stopping finalises the file (the last chunk, the index): give it longer than a plain request. */
const RECORD_REQUEST_TIMEOUT_MS = 15_000

interface RecordOptions {
  source?: string[]
  channel?: string[]
  out: string
  follow?: boolean
}

const collect = (value: string, all: string[] | undefined): string[] => [...(all ?? []), value]

/** One line of --follow: state, frames a source, messages, size, losses. */
export function formatRecordingStats (r: RecordingInfo): string {
  const frames = r.sources.map(s => `${s.source}=${s.frames}${s.live ? '' : ' (waiting)'}`).join(' ')
  const error = r.error === null ? '' : ` error=${r.error.name}: ${r.error.message}`
  return `${r.state} ${frames === '' ? 'no video' : `frames ${frames}`} channel-messages=${r.stats.channelMessages} messages=${r.stats.messages} ${formatBytes(r.stats.bytes)} dropped=${r.stats.dropped}${error}\n`
}

/** The POST /v1/record body: the caller's relative path made absolute (edged runs elsewhere). */
export function recordRequest (peer: string, opts: RecordOptions, cwd = process.cwd()): RecordRequest {
  return {
    peer,
    out: path.resolve(cwd, opts.out),
    ...(opts.source === undefined ? {} : { sources: opts.source }),
    ...(opts.channel === undefined ? {} : { channels: opts.channel })
  }
}

export function recordCommand (program: Command, cli: CliContext): void {
  program.command('record')
    .description('record a peer\'s video and channel messages into one MCAP file; prints the recording id (stop it with edgectl unwatch ID)')
    .argument('<peer>', 'peer id (see edgectl peers)')
    .option('--source <name>', 'an H.264 video source of the peer (repeat for more; default: all of them)', collect)
    .option('--channel <label>', 'a data channel label (repeat for more; default: every channel with the peer)', collect)
    .requiredOption('--out <file.mcap>', 'the MCAP file to create (it must not exist)')
    .option('--follow', 'print stats every second until Ctrl-C, then stop and finalise the file')
    .action(async (peer: string, opts: RecordOptions, cmd: Command) => {
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const recording = await client.request<RecordingInfo>('POST', '/v1/record', recordRequest(peer, opts), { timeoutMs: RECORD_REQUEST_TIMEOUT_MS })
      if (opts.follow !== true) {
        if (json) cli.printJson(recording)
        else cli.io.stdout(`${recording.id}\n`)
        return
      }
      if (json) cli.io.stdout(JSON.stringify(recording) + '\n')
      else cli.io.stdout(`${recording.id} recording ${recording.peer} into ${recording.file}\n`)
      const interrupted = cli.io.interrupted()
      let last = recording
      try {
        while (!interrupted.aborted) {
          await sleep(FOLLOW_INTERVAL_MS, undefined, { signal: interrupted }).catch(() => {})
          if (interrupted.aborted) break
          last = await client.request<RecordingInfo>('GET', `/v1/record/${encodeURIComponent(recording.id)}`)
          cli.io.stdout(json ? JSON.stringify(last) + '\n' : formatRecordingStats(last))
        }
      } finally {
        last = await client.request<RecordingInfo>('DELETE', `/v1/record/${encodeURIComponent(recording.id)}`, undefined, { timeoutMs: RECORD_REQUEST_TIMEOUT_MS })
      }
      cli.io.stdout(json ? JSON.stringify(last) + '\n' : `finalised ${last.file}: ${last.stats.messages} messages, ${formatBytes(last.stats.bytes)}\n`)
    })
}
