import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export interface LogInit {
  level: LevelWithSilent
  levels: Record<string, LevelWithSilent>
  pretty: boolean
}

/**
 * The root logger writes JSON lines to stderr (journald keeps them);
 * `componentLogger` gives each component its own child with its own level.
 */
export function createRootLogger (init: LogInit, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({
    level: init.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) }
  }, destination as pino.DestinationStream)
}

export function componentLogger (root: Logger, component: string, levels: Record<string, LevelWithSilent> = {}): Logger {
  const child = root.child({ component })
  const level = levels[component]
  if (level !== undefined) child.level = level
  return child
}
