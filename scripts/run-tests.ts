// The test suite in two phases: the files that may share the machine, in
// parallel, then the ones that measure time or load it, one at a time
// (vitest.config.ts). Every phase runs even if one fails; the exit code is
// non-zero if any test failed, and the last line sums them up.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const vitest = path.join(root, 'node_modules', '.bin', 'vitest')
const phases = ['parallel', 'serial']
const extra = process.argv.slice(2)
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-tests-'))
const total = { passed: 0, failed: 0, skipped: 0 }
let ok = true

// The typecheck runs beside the parallel phase (it is one process on one core) and is awaited after it.
const tscLog = path.join(out, 'tsc.log')
const tscOut = fs.openSync(tscLog, 'w')
const tsc = spawn(path.join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: root, stdio: ['ignore', tscOut, tscOut] })
const typechecked = new Promise<number | null>(resolve => {
  tsc.on('exit', code => { resolve(code) })
  tsc.on('error', err => { fs.appendFileSync(tscLog, String(err)); resolve(null) })
})

for (const phase of phases) {
  const report = path.join(out, `${phase}.json`)
  console.log(`\n=== ${phase} tests ===`)
  const run = spawnSync(vitest, ['run', '--project', phase, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra],
    { cwd: root, stdio: 'inherit' })
  if (run.status !== 0) ok = false
  try {
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number }
    total.passed += r.numPassedTests
    total.failed += r.numFailedTests
    total.skipped += r.numPendingTests + r.numTodoTests
  } catch {
    console.log(`${phase}: no report (vitest exited ${String(run.status ?? run.signal)})`)
    ok = false
  }
  if (phase === 'parallel') {
    const code = await typechecked
    fs.closeSync(tscOut)
    console.log(`\n=== typecheck (tsc --noEmit): ${code === 0 ? 'passed' : 'FAILED'} ===`)
    if (code !== 0) {
      console.log(fs.readFileSync(tscLog, 'utf8'))
      ok = false
    }
  }
}
fs.rmSync(out, { recursive: true, force: true })
if (total.failed > 0) ok = false
console.log(`\nTests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`)
process.exit(ok ? 0 : 1)
