import type { Command } from 'commander'
import type { SourcesResponse } from '../../daemon/api-types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'
import { parseBitrate, parseInteger } from '../parse-options.ts'

interface SetOptions {
  bitrate?: number
  width?: number
  height?: number
  framerate?: number
  keyFrame?: boolean
}

/** "640x480@30" of a running video source (its size "?" where the source's own is used); "-" otherwise. */
function formatOf (s: SourcesResponse['local'][number]): string {
  const f = s.stats?.format
  return f === null || f === undefined ? '-' : `${f.width ?? '?'}x${f.height ?? '?'}@${f.fps}`
}

/** Local sources (with the encoder each uses and the format it is fed now), then the swarm's remote ones. */
export function formatSources (res: SourcesResponse): string {
  const local = res.local.length === 0
    ? 'no local sources\n'
    : formatTable(
      ['SOURCE', 'KIND', 'CODEC', 'ENCODER', 'RUNNING', 'FORMAT', 'VIEWERS', 'ERROR'],
      res.local.map(s => [
        s.name, s.kind, s.codec,
        s.encoder === null ? 'none' : `${s.encoder}${s.hardware ? ' (hw)' : ''}`,
        s.running ? 'yes' : (s.alwaysOn ? 'no (always-on)' : 'no'),
        formatOf(s),
        String(s.users),
        s.error === null ? '-' : `${s.error.name}: ${s.error.message}`
      ]))
  const remote = res.remote.length === 0
    ? 'no remote sources\n'
    : formatTable(['PEER', 'NAME', 'SOURCE', 'KIND', 'CODEC'], res.remote.map(r => [r.peer, r.peerName, r.name, r.kind, r.codec]))
  return `${local}\n${remote}`
}

export function sourcesCommand (program: Command, cli: CliContext): void {
  const sources = program.command('sources')
    .description('list this daemon\'s sources (with their encoders) and the swarm\'s; `sources set` changes one while it runs')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await cli.client(cmd).sources()
      if (cli.json(cmd)) cli.printJson(res)
      else cli.io.stdout(formatSources(res))
    })
  sources.command('set <name>')
    .description('change a running source of this daemon with no restart: bit rate, resolution, frame rate, a key frame now')
    .option('--bitrate <rate>', 'target bit rate: 800k, 1.5M, or kbit/s', parseBitrate)
    .option('--width <pixels>', 'width', parseInteger(1))
    .option('--height <pixels>', 'height', parseInteger(1))
    .option('--framerate <fps>', 'frames per second (what the source can produce)', parseInteger(1))
    .option('--key-frame', 'ask the encoder for a key frame now')
    .action(async (name: string, opts: SetOptions, cmd: Command) => {
      const change = { bitrate: opts.bitrate, width: opts.width, height: opts.height, framerate: opts.framerate, keyFrame: opts.keyFrame }
      if (Object.values(change).every(v => v === undefined)) cmd.error('edgectl sources set: give at least one of --bitrate, --width, --height, --framerate, --key-frame')
      const res = await cli.client(cmd).controlSource(name, change)
      if (cli.json(cmd)) cli.printJson(res)
      else {
        const format = res.width === null && res.height === null && res.fps === null ? '' : `, ${res.width ?? '?'}x${res.height ?? '?'} at ${res.fps ?? '?'} fps`
        cli.io.stdout(`${res.name}: ${res.bitrateKbps === null ? 'bit rate set by its publisher' : `${res.bitrateKbps} kbit/s`}${format}${res.keyFrame ? ', key frame asked for' : ''}\n`)
      }
    })
}
