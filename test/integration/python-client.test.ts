import { execFile, spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/edged-process.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const run = promisify(execFile)
/** Debian's Python, where scripts/setup --test installs python3-aiohttp and python3-pytest (not the first python3 on PATH). */
const PYTHON = '/usr/bin/python3'
const PYTHON_DIR = path.join(ROOT, 'clients', 'python')

/** Why the Python tests cannot run here ('' when they can). */
function missingPython (): string {
  const probe = spawnSync(PYTHON, ['-c', 'import aiohttp, pytest'], { encoding: 'utf8' })
  if (probe.error !== undefined) return `${PYTHON} not found`
  if (probe.status !== 0) return `python3-aiohttp or python3-pytest missing (scripts/setup --test installs them): ${probe.stderr.trim().split('\n').at(-1) ?? ''}`
  return ''
}

function missingVenv (): string {
  const probe = spawnSync(PYTHON, ['-c', 'import venv, ensurepip'], { encoding: 'utf8' })
  return probe.status === 0 ? '' : 'python3-venv missing (scripts/setup --test installs it)'
}

const missing = missingPython()
const noVenv = missing !== '' ? missing : missingVenv()

describe('the Python client (clients/python)', () => {
  // pytest starts two daemons of its own (tests/conftest.py) and runs every test against them.
  it.skipIf(missing !== '')(`passes its pytest suite against real daemons${missing === '' ? '' : ` (skipped: ${missing})`}`, async () => {
    const result = spawnSync(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'clients/python/tests'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
    })
    const output = `${result.stdout}${result.stderr}`
    if (result.status !== 0) throw new Error(`pytest failed (exit ${String(result.status ?? result.signal)}):\n${output.slice(-20_000)}`)
    expect(output).toMatch(/\d+ passed/)
  }, 300_000)

  it.skipIf(noVenv !== '')(`installs with pip install ./clients/python${noVenv === '' ? '' : ` (skipped: ${noVenv})`}`, async () => {
    const temp = await makeTempDir('edge-pip-')
    try {
      // pip builds in the source tree (build/, *.egg-info): give it a copy.
      const source = path.join(temp.dir, 'python')
      await fs.cp(PYTHON_DIR, source, { recursive: true, filter: src => !src.includes('__pycache__') })
      const venv = path.join(temp.dir, 'venv')
      // The venv sees Debian's aiohttp; nothing is fetched from an index.
      await run(PYTHON, ['-m', 'venv', '--system-site-packages', venv])
      await run(path.join(venv, 'bin', 'pip'), ['install', '-q', '--no-index', '--no-build-isolation', source], { timeout: 120_000 })
      const { stdout } = await run(path.join(venv, 'bin', 'python'), ['-c', 'import edge_stack; print(edge_stack.__file__); print(edge_stack.EdgeClient.__name__)'],
        { cwd: os.tmpdir(), env: { ...process.env, PYTHONPATH: '' } })
      const [file, name] = stdout.trim().split('\n')
      expect(file.startsWith(path.join(venv, 'lib'))).toBe(true)
      expect(name).toBe('EdgeClient')
    } finally {
      await temp.cleanup()
    }
  }, 180_000)
})
