import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { makeTempDir } from './temp-dir.ts'

/**
 * How many frames GStreamer decodes from an H.264 Annex-B byte stream
 * (`h264parse ! avdec_h264`, one fakesink buffer per decoded frame).
 */
export async function decodeAnnexB (stream: Buffer): Promise<number> {
  const tmp = await makeTempDir('edge-h264-')
  try {
    const file = path.join(tmp.dir, 'stream.h264')
    await fs.writeFile(file, stream)
    const out = await new Promise<string>((resolve, reject) => {
      execFile('gst-launch-1.0', ['-v', 'filesrc', `location=${file}`, '!', 'h264parse', '!', 'avdec_h264', '!', 'fakesink', 'silent=false'], { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`gst-launch failed: ${err.message}\n${stderr.slice(-2000)}`))
        else resolve(stdout)
      })
    })
    return out.split('\n').filter(l => l.includes('last-message = chain')).length
  } finally {
    await tmp.cleanup()
  }
}
