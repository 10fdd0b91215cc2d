import type { ReadStream } from 'node:tty'
import type { Command } from 'commander'
import type { SourcesResponse } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { parseInteger, parseSeconds } from '../parse-options.ts'
import { formatTop, topTick, type TopSnapshot } from '../top-view.ts'

/** Home, clear the screen (and the scrollback's last page). */
const CLEAR = '\x1b[H\x1b[2J'
const CTRL_C = '\x03'

interface TopOptions {
  interval: number
  iterations?: number
}

/** q or Ctrl-C on a terminal ends top (raw mode: Ctrl-C is a key, not a signal, there). */
function watchKeys (stdin: NodeJS.ReadableStream, stop: () => void): () => void {
  const tty = stdin as ReadStream
  if (tty.isTTY !== true || typeof tty.setRawMode !== 'function') return () => {}
  tty.setRawMode(true)
  tty.setEncoding('utf8')
  const onData = (key: string): void => { if (key === 'q' || key === 'Q' || key.includes(CTRL_C)) stop() }
  tty.on('data', onData)
  tty.resume()
  return () => {
    tty.off('data', onData)
    tty.setRawMode(false)
    tty.pause()
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done)
  })
}

export function topCommand (program: Command, cli: CliContext): void {
  program.command('top')
    .description('live view of sessions and streams (state, RTT, bit rate, target, estimate, queueing delay, loss) until q or Ctrl-C; --json: one line per tick')
    .option('--interval <seconds>', 'seconds between refreshes', parseSeconds, 1)
    .option('-n, --iterations <count>', 'stop after this many refreshes', parseInteger(1))
    .action(async (opts: TopOptions, cmd: Command) => {
      const client = cli.client(cmd)
      const json = cli.json(cmd)
      const stop = new AbortController()
      const interrupted = cli.io.interrupted()
      interrupted.addEventListener('abort', () => { stop.abort() })
      const unwatch = json ? () => {} : watchKeys(cli.io.stdin(), () => { stop.abort() })
      let previous: TopSnapshot | undefined
      try {
        for (let tick = 0; !stop.signal.aborted && (opts.iterations === undefined || tick < opts.iterations); tick++) {
          if (tick > 0) await sleep(opts.interval * 1000, stop.signal)
          if (stop.signal.aborted) break
          const [sessions, sources] = await Promise.all([
            client.sessions(),
            client.request<SourcesResponse>('GET', '/v1/sources')
          ])
          const now: TopSnapshot = { at: Date.now(), sessions: sessions.sessions, browsers: sessions.browsers ?? [], sources: sources.local }
          const view = topTick(now, previous)
          previous = now
          cli.io.stdout(json ? JSON.stringify(view) + '\n' : CLEAR + formatTop(view, client.socket))
        }
      } finally {
        unwatch()
      }
    })
}
