import fs from 'node:fs/promises'
import path from 'node:path'
import { stringify } from 'yaml'
import { sleep } from './lib/sleep.ts'
import { median, round } from './lib/stats.ts'
import { treeRssMiB } from './lib/rss.ts'
import { removeTempDir } from './lib/temp-dir.ts'
import { waitForHttp200 } from './lib/unix-http.ts'
import type { BenchContext, Benchmark, Figure } from './lib/types.ts'

const DEFAULT_RUNS = 7
const POLL_EVERY_MS = 5
const READY_TIMEOUT_MS = 30_000
/** RSS is read this long after spawn, when start-up work has settled. */
const IDLE_AFTER_MS = 10_000
const BASELINE = 'bare libp2p node (same services)'

interface Target {
  label: string
  command: (configFile: string) => [string, string[]]
}

interface Sample {
  readyMs: number
  rssMiB: number | undefined
}

/** bin/edged, or $EDGED_BIN (an executable, or a .ts file run by this Node) to measure another build. */
function edgedTarget (repoRoot: string): Target {
  const bin = process.env.EDGED_BIN ?? path.join(repoRoot, 'bin', 'edged')
  return {
    label: 'edged',
    command: configFile => bin.endsWith('.ts')
      ? [process.execPath, [bin, '--config', configFile]]
      : [bin, ['--config', configFile]]
  }
}

function baselineTarget (): Target {
  const script = path.join(import.meta.dirname, 'baselines', 'bare-libp2p.ts')
  return { label: 'bare-libp2p', command: configFile => [process.execPath, [script, '--config', configFile]] }
}

async function assertRunnable (target: Target): Promise<void> {
  const [cmd, args] = target.command('x')
  const file = cmd === process.execPath ? args[0] : cmd
  try {
    await fs.access(file, cmd === process.execPath ? fs.constants.R_OK : fs.constants.X_OK)
  } catch {
    throw new Error(`${target.label}: ${file} is missing or not executable`)
  }
}

/** Spawn the target on a config of its own; time spawn → first 200 from /v1/status; optionally read idle RSS. */
async function measureOnce (ctx: BenchContext, target: Target, readRss: boolean): Promise<Sample> {
  const dir = await ctx.tempDir('startup-')
  const socket = path.join(dir, 'control.sock')
  const configFile = path.join(dir, 'edged.yaml')
  await fs.writeFile(configFile, stringify({
    stateDir: path.join(dir, 'state'),
    control: { socket },
    swarm: { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false },
    web: { enabled: false }
  }))
  const [cmd, args] = target.command(configFile)
  const started = performance.now()
  const child = ctx.spawn(cmd, args, { cwd: ctx.repoRoot })
  try {
    const answered = await waitForHttp200(socket, '/v1/status', {
      everyMs: POLL_EVERY_MS,
      timeoutMs: READY_TIMEOUT_MS,
      giveUp: () => child.running ? undefined : `${target.label} exited before answering:\n${child.output().slice(-3000)}`
    })
    let rssMiB: number | undefined
    if (readRss) {
      await sleep(started + IDLE_AFTER_MS - performance.now())
      if (!child.running) throw new Error(`${target.label} exited while idle:\n${child.output().slice(-3000)}`)
      rssMiB = await treeRssMiB(child.pid)
    }
    return { readyMs: round(answered - started), rssMiB: rssMiB === undefined ? undefined : round(rssMiB) }
  } finally {
    const wasRunning = child.running
    const status = await child.stop()
    if (wasRunning && status.code !== 0) ctx.log(`${target.label} exited with ${status.code ?? status.signal} on SIGTERM`)
    await removeTempDir(dir)
  }
}

export const benchmark: Benchmark = {
  name: 'startup',
  description: 'edged spawn → control socket answering, and idle RSS, against a bare libp2p node',
  run: async ctx => {
    const runs = ctx.runs ?? DEFAULT_RUNS
    const edged = edgedTarget(ctx.repoRoot)
    const bare = baselineTarget()
    await assertRunnable(edged)
    await assertRunnable(bare)

    // one unmeasured start each warms the page cache for both
    for (const target of [edged, bare]) await measureOnce(ctx, target, false)

    const samples = new Map<Target, Sample[]>([[edged, []], [bare, []]])
    for (let i = 0; i < runs; i++) {
      // alternate who goes first so drift over the run hits both alike
      for (const target of i % 2 === 0 ? [edged, bare] : [bare, edged]) {
        const sample = await measureOnce(ctx, target, true)
        samples.get(target)?.push(sample)
        ctx.log(`run ${i + 1}/${runs} ${target.label}: ${sample.readyMs.toFixed(1)} ms, ${sample.rssMiB?.toFixed(1)} MiB`)
      }
    }

    const ready = (t: Target): number[] => (samples.get(t) ?? []).map(s => s.readyMs)
    const rss = (t: Target): number[] => (samples.get(t) ?? []).map(s => s.rssMiB ?? NaN)
    const figures: Figure[] = [
      {
        name: 'edged start → control socket answering',
        unit: 'ms',
        value: median(ready(edged)),
        baseline: BASELINE,
        baselineValue: median(ready(bare)),
        samples: ready(edged),
        baselineSamples: ready(bare)
      },
      {
        name: `idle RSS ${IDLE_AFTER_MS / 1000} s after start`,
        unit: 'MiB',
        value: median(rss(edged)),
        baseline: BASELINE,
        baselineValue: median(rss(bare)),
        samples: rss(edged),
        baselineSamples: rss(bare)
      }
    ]
    return figures
  }
}
