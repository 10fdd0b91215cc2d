import fs from 'node:fs'
import { parseDocument } from 'yaml'
import { ConfigError } from '../util/errors.ts'
import { configSchema, type Config } from './config-schema.ts'
import { defaultNodeName, defaultSocketPath, defaultStateDir } from './config-defaults.ts'

export const DEFAULTS_SOURCE = '(defaults)'

/** Validate a parsed YAML/JSON value; problems name each key and the file. */
export function parseConfig (value: unknown, file: string = DEFAULTS_SOURCE): Config {
  const result = configSchema.safeParse(value ?? {})
  if (!result.success) {
    throw new ConfigError(file, result.error.issues.flatMap(issue => {
      const base = issue.path.map(String).join('.')
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map(k => ({ key: base === '' ? k : `${base}.${k}`, message: 'unknown key' }))
      }
      return [{ key: base, message: issue.message }]
    }))
  }
  const c = result.data
  return {
    ...c,
    stateDir: c.stateDir ?? defaultStateDir(),
    control: { ...c.control, socket: c.control.socket ?? defaultSocketPath() },
    swarm: { ...c.swarm, nodeName: c.swarm.nodeName ?? defaultNodeName() },
    source: file
  }
}

/** Read and validate a YAML config file; any problem is a ConfigError naming the file. */
export function loadConfigFile (file: string): Config {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(file, [{ key: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }])
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map(e => ({ key: '', message: `YAML: ${e.message.split('\n')[0]}` })))
  }
  const value: unknown = doc.toJS()
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError(file, [{ key: '', message: 'must be a mapping of keys (stateDir, control, swarm, …)' }])
  }
  return parseConfig(value, file)
}

/** `--config FILE`, else $EDGED_CONFIG, else the built-in defaults. */
export function loadConfig (file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const chosen = file ?? (env.EDGED_CONFIG !== undefined && env.EDGED_CONFIG !== '' ? env.EDGED_CONFIG : undefined)
  return chosen === undefined ? parseConfig({}) : loadConfigFile(chosen)
}
