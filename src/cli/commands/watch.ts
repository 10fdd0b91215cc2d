import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import type { WatchInfo } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'

export const FOLLOW_INTERVAL_MS = 1_000

interface WatchOptions {
  sink: string
  follow?: boolean
}

/** file:PATH is the caller's path: make it absolute here, edged runs elsewhere. */
export function resolveSink (sink: string, cwd = process.cwd()): string {
  return sink.startsWith('file:') && sink.length > 5 ? `file:${path.resolve(cwd, sink.slice(5))}` : sink
}

/** One line of --follow: state, frames, rate, loss. */
export function formatWatchStats (w: WatchInfo): string {
  const s = w.stats
  const loss = (s.lossRate * 100).toFixed(1)
  const decoded = w.sink === 'count' ? ` decoded=${s.framesDecoded} fps=${s.fps}` : ''
  const error = w.error === null ? '' : ` error=${w.error.name}: ${w.error.message}`
  return `${w.state} packets=${s.packets} frames=${s.frames}${decoded} keyframes=${s.keyFrames} ${s.bitrateKbps} kbit/s lost=${s.lost} (${loss}%)${error}\n`
}

export function watchCommand (program: Command, cli: CliContext): void {
  program.command('watch')
    .description('view a peer\'s source: decode and count it, record it, or re-expose it as RTP; prints the watch id')
    .argument('<peer>', 'peer id (see edgectl peers)')
    .argument('<source>', 'the peer\'s source name (see edgectl sources)')
    .option('--sink <spec>', 'count | file:PATH (.mkv, .webm, .mp4) | rtp://HOST:PORT | display', 'count')
    .option('--follow', 'print stats every second until Ctrl-C, then stop watching')
    .action(async (peer: string, source: string, opts: WatchOptions, cmd: Command) => {
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const watch = await client.watch(peer, source, resolveSink(opts.sink))
      if (opts.follow !== true) {
        if (json) cli.printJson(watch)
        else cli.io.stdout(`${watch.id}\n`)
        return
      }
      if (json) cli.io.stdout(JSON.stringify(watch) + '\n')
      else cli.io.stdout(`${watch.id} ${watch.source} of ${watch.peer} into ${watch.sink}\n`)
      const interrupted = cli.io.interrupted()
      try {
        while (!interrupted.aborted) {
          await sleep(FOLLOW_INTERVAL_MS, undefined, { signal: interrupted }).catch(() => {})
          if (interrupted.aborted) break
          const now = await client.watchInfo(watch.id)
          cli.io.stdout(json ? JSON.stringify(now) + '\n' : formatWatchStats(now))
        }
      } finally {
        await client.unwatch(watch.id)
      }
    })
}

export function unwatchCommand (program: Command, cli: CliContext): void {
  program.command('unwatch')
    .description('stop a watch or a recording (a file: or MCAP recording is finalised)')
    .argument('<id>', 'watch id (from edgectl watch or edgectl record)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await cli.client(cmd).unwatch(id)
      if (cli.json(cmd)) cli.printJson({ id, unwatched: true })
      else cli.io.stdout(`stopped watch ${id}\n`)
    })
}
