import { Command, CommanderError } from 'commander'
import { stringify } from 'yaml'
import { ConfigError, EdgeError } from '../util/errors.ts'
import { loadConfig } from './config-load.ts'
import { createDaemon } from './daemon.ts'
import { componentLogger, createRootLogger } from './logger.ts'
import { reportStatusToSystemd } from './notify-status.ts'
import { createNotifier } from './sd-notify.ts'
import { VERSION } from './version.ts'

/** After a stop signal the daemon must be gone within this, whatever hangs. */
export const STOP_DEADLINE_MS = 4500

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_CONFIG = 2

async function main (argv: string[]): Promise<number> {
  const program = new Command('edged')
    .description('Edge Stack daemon')
    .version(VERSION)
    .option('-c, --config <file>', 'YAML config file (default: $EDGED_CONFIG, else built-in defaults)')
    .option('--print-config', 'print the effective config as YAML and exit')
    .exitOverride()
  try {
    program.parse(argv)
  } catch (err) {
    return err instanceof CommanderError ? (err.exitCode === 0 ? EXIT_OK : EXIT_CONFIG) : EXIT_CONFIG
  }
  const opts = program.opts<{ config?: string, printConfig?: boolean }>()

  let config
  try {
    config = loadConfig(opts.config)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`edged: ${err.message}\n`)
      return EXIT_CONFIG
    }
    throw err
  }
  if (opts.printConfig === true) {
    const { source, ...effective } = config
    process.stdout.write(`# effective config (from ${source})\n${stringify(effective)}`)
    return EXIT_OK
  }

  const logger = createRootLogger(config.log)
  // Before anything spawns children (gst-launch-1.0): they must not inherit NOTIFY_SOCKET.
  const notifier = createNotifier({ env: process.env, logger: componentLogger(logger, 'systemd', config.log.levels), unsetEnvironment: true })
  const daemon = createDaemon(config, logger)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping')
    void notifier.stopping()
    const deadline = setTimeout(() => {
      logger.error('stop took too long; exiting anyway')
      process.exit(EXIT_FAILURE)
    }, STOP_DEADLINE_MS)
    deadline.unref()
    daemon.stop().then(() => { process.exit(EXIT_OK) }, (err: unknown) => {
      logger.error({ err }, 'stop failed')
      process.exit(EXIT_FAILURE)
    })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
  // SIGHUP (systemctl reload) re-reads the config file; a bad one is logged and changes nothing.
  process.on('SIGHUP', () => {
    if (stopping) return
    logger.info({ signal: 'SIGHUP' }, 'reloading the config')
    daemon.reload().catch(() => {}) // the daemon logs the outcome
  })
  // A bug in one component must not take the robot's daemon down silently.
  process.on('unhandledRejection', (err) => { logger.error({ err }, 'unhandled rejection') })

  try {
    await daemon.start()
  } catch (err) {
    await daemon.stop()
    const message = err instanceof EdgeError ? err.message : (err as Error).stack ?? String(err)
    process.stderr.write(`edged: ${message}\n`)
    await notifier.notify([`STATUS=start failed: ${message.split('\n')[0]}`])
    logger.flush()
    return EXIT_FAILURE
  }
  // Up: libp2p listens and the control socket answers.
  reportStatusToSystemd(daemon, notifier)
  await notifier.watchdog.start()
  await notifier.ready()
  return -1 // running: the signal handlers decide the exit code
}

main(process.argv).then(code => {
  if (code >= 0) process.exit(code)
}, (err: unknown) => {
  process.stderr.write(`edged: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(EXIT_FAILURE)
})
