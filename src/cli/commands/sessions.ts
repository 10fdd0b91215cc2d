import type { Command } from 'commander'
import type { BrowserInfo, SessionInfo } from '../../daemon/api-types.ts'
import type { SelectedPair } from '../../transport/types.ts'
import type { CliContext } from '../cli-context.ts'
import { formatBytes } from '../format-bytes.ts'
import { formatTable } from '../format-table.ts'

type Endpoint = SelectedPair['local']

function formatEndpoint (e: Endpoint): string {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address
  return `${e.type} ${host}:${e.port}`
}

/** The ICE candidate pair in use, local → remote, e.g. `host 127.0.0.1:5000 → srflx 203.0.113.7:6000`. */
export function formatPair (pair: SelectedPair | null): string {
  return pair === null ? '-' : `${formatEndpoint(pair.local)} → ${formatEndpoint(pair.remote)}`
}

export function formatRtt (rttMs: number | null): string {
  if (rttMs === null) return '-'
  return rttMs < 10 ? `${rttMs.toFixed(1)} ms` : `${Math.round(rttMs)} ms`
}

export function formatSessions (sessions: SessionInfo[]): string {
  if (sessions.length === 0) return 'no sessions\n'
  return formatTable(
    ['PEER', 'NAME', 'STATE', 'PROFILE', 'ROLE', 'PAIR', 'RTT', 'SENT/RECV', 'CHANNELS'],
    sessions.map(s => [
      s.peer,
      s.name ?? '-',
      s.state,
      s.profile,
      s.role ?? '-',
      formatPair(s.pair),
      formatRtt(s.rttMs),
      `${formatBytes(s.bytesSent)} / ${formatBytes(s.bytesReceived)}`,
      s.channels.length === 0 ? '-' : s.channels.map(c => c.label).join(',')
    ])
  )
}

/**
 * The paths of sessions that keep a standby (rtc.standby): the active one and
 * the standby, with their pairs, and how often traffic failed over. Empty
 * when no session has a standby, so the table above reads as before.
 */
export function formatPaths (sessions: SessionInfo[]): string {
  const withStandby = sessions.filter(s => s.standby != null || (s.failovers ?? 0) > 0)
  if (withStandby.length === 0) return ''
  return '\n' + formatTable(
    ['PEER', 'PATH', 'SESSION', 'STATE', 'PAIR', 'FAILOVERS'],
    withStandby.flatMap(s => [
      [s.peer, 'active', s.session ?? '-', s.state, formatPair(s.pair), String(s.failovers ?? 0)],
      s.standby == null
        ? [s.peer, 'standby', '-', 'none', '-', '']
        : [s.peer, 'standby', s.standby.session, `${s.standby.state}${s.standby.state === 'connected' ? (s.standby.alive ? ', alive' : ', silent') : ''}`, formatPair(s.standby.pair), '']
    ])
  )
}

/**
 * Browser sessions on the web listener (WHEP players, WHIP publishers), under
 * the peers' table: FROM is the peer whose source a player plays (forwarded),
 * `-` for this daemon's. Empty when there are none.
 */
export function formatBrowsers (browsers: BrowserInfo[]): string {
  if (browsers.length === 0) return ''
  return '\n' + formatTable(
    ['BROWSER', 'KIND', 'FROM', 'SOURCE', 'STATE', 'RTT', 'SENT/RECV'],
    browsers.map(b => [
      b.id,
      b.kind,
      b.peer ?? '-',
      b.audio === null ? b.source : `${b.source},${b.audio}`,
      b.state,
      formatRtt(b.rttMs),
      `${formatBytes(b.bytesSent)} / ${formatBytes(b.bytesReceived)}`
    ])
  )
}

export function sessionsCommand (program: Command, cli: CliContext): void {
  program.command('sessions')
    .description('list WebRTC sessions with peers (state, candidate pair, RTT, traffic, channels), then browsers\' (WHEP, WHIP)')
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await cli.client(cmd).sessions()
      if (cli.json(cmd)) cli.printJson(res)
      else cli.io.stdout(formatSessions(res.sessions) + formatPaths(res.sessions) + formatBrowsers(res.browsers ?? []))
    })
}
