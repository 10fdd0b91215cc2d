import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import type { Codec } from '../../src/media/codecs.ts'
import { sleep, testPair } from '../helpers/media-pair.ts'
import { makeTempDir } from '../helpers/temp-dir.ts'

const run = promisify(execFile)

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async c => await c()))
})

/** gst-discoverer-1.0's "Duration: 0:00:05.033333333" in seconds. */
async function discoveredSeconds (file: string): Promise<number> {
  const { stdout } = await run('gst-discoverer-1.0', [file], { timeout: 10_000 })
  const match = /Duration: (\d+):(\d+):([\d.]+)/.exec(stdout)
  if (match === null) throw new Error(`no duration in gst-discoverer output:\n${stdout}`)
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])
}

describe('file: sink records without re-encoding', () => {
  const cases: Array<[string, Codec, number]> = [['mkv', 'h264', 5_000], ['mp4', 'h264', 3_000], ['webm', 'vp8', 3_000]]
  for (const [container, codec, ms] of cases) {
    it(`${codec} into .${container}: playable, and its duration is the recorded time ± 10 %`, async () => {
      const { dir, cleanup } = await makeTempDir('edge-media-')
      cleanups.push(cleanup)
      const file = path.join(dir, `rec ${codec}.${container}`) // a space: the path must survive gst-launch's parser
      const pair = await testPair(codec, `file:${file}`)
      cleanups.push(pair.stop)
      let first = 0
      let last = 0
      pair.source.on('rtp', () => {
        last = performance.now()
        if (first === 0) first = last
      })
      await sleep(ms)
      await pair.source.stop()
      const stopping = performance.now()
      await pair.sink.stop() // SIGINT → EOS → the muxer writes its index
      expect(performance.now() - stopping).toBeLessThan(3_000)
      const recorded = (last - first) / 1000
      expect(recorded).toBeGreaterThan(ms / 1000 * 0.8)
      expect((await fs.stat(file)).size).toBeGreaterThan(10_000)
      const duration = await discoveredSeconds(file)
      expect(Math.abs(duration - recorded) / recorded, `${duration} s in the file, ${recorded} s recorded`).toBeLessThanOrEqual(0.1)
      // decodable, not just parseable: decode it all
      const decode = await run('gst-launch-1.0', ['-q', 'filesrc', `location=${file}`, '!', 'decodebin', '!', 'fakesink'], { timeout: 20_000 })
      expect(decode.stderr).not.toMatch(/ERROR/)
    })
  }
})
