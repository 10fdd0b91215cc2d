import { describe, expect, it } from 'vitest'
import { splitLaunchArgs } from '../../src/media/launch-args.ts'
import { backoffMs } from '../../src/util/backoff.ts'
import { StderrTail } from '../../src/media/stderr-tail.ts'

describe('splitLaunchArgs', () => {
  it('splits like a shell: whitespace separates, quotes group and go away, backslash escapes', () => {
    expect(splitLaunchArgs('videotestsrc is-live=true !  fakesink')).toEqual(['videotestsrc', 'is-live=true', '!', 'fakesink'])
    expect(splitLaunchArgs('filesink location="/tmp/a b.mkv"')).toEqual(['filesink', 'location=/tmp/a b.mkv'])
    expect(splitLaunchArgs(`x extra-controls='controls,a=1' y=a\\ b`)).toEqual(['x', 'extra-controls=controls,a=1', 'y=a b'])
    expect(splitLaunchArgs('a "say \\"hi\\"" ""')).toEqual(['a', 'say "hi"', ''])
    expect(splitLaunchArgs('  ')).toEqual([])
  })

  it('rejects an unterminated quote', () => {
    expect(() => splitLaunchArgs('filesink location="/tmp/x')).toThrow(SyntaxError)
  })
})

describe('StderrTail', () => {
  it('keeps only the last bytes', () => {
    const tail = new StderrTail(10)
    tail.push(Buffer.from('0123456789'))
    tail.push(Buffer.from('abcdef'))
    expect(tail.toString()).toBe('6789abcdef')
    tail.push(Buffer.from('0123456789ABC'))
    expect(tail.toString()).toBe('3456789ABC')
  })
})

describe('backoffMs', () => {
  it('doubles from the initial delay up to the cap, with ±20 % jitter', () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(1, 250, 10_000)).toBeGreaterThanOrEqual(200)
      expect(backoffMs(1, 250, 10_000)).toBeLessThanOrEqual(300)
      expect(backoffMs(3, 250, 10_000)).toBeGreaterThanOrEqual(800)
      expect(backoffMs(3, 250, 10_000)).toBeLessThanOrEqual(1200)
      expect(backoffMs(20, 250, 10_000)).toBeLessThanOrEqual(12_000)
      expect(backoffMs(20, 250, 10_000)).toBeGreaterThanOrEqual(8_000)
    }
    expect(backoffMs(0)).toBe(0)
  })
})
