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

/** Component loggers per root, so a config reload can change their levels (their children inherit through the prototype). */
const components = new WeakMap<Logger, Array<{ component: string, logger: Logger }>>()

export function componentLogger (root: Logger, component: string, levels: Record<string, LevelWithSilent> = {}): Logger {
  const child = root.child({ component })
  const level = levels[component]
  if (level !== undefined) child.level = level
  let list = components.get(root)
  if (list === undefined) components.set(root, list = [])
  list.push({ component, logger: child })
  return child
}

/** Apply log.level and log.levels to the root and every component logger made from it. */
export function setLogLevels (root: Logger, level: LevelWithSilent, levels: Record<string, LevelWithSilent>): void {
  root.level = level
  for (const c of components.get(root) ?? []) c.logger.level = levels[c.component] ?? level
}
