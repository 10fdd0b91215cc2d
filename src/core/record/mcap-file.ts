import fs from 'node:fs/promises'
import { McapWriter, type IWritable } from '@mcap/core'
import { ConflictError, BadRequestError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'

/** Messages go into chunks of about this size, each indexed, so a reader seeks by time and topic. */
export const MCAP_CHUNK_BYTES = 1024 * 1024
/**
 * Messages waiting for the disk. A disk slower than what comes in (an SD card
 * under load) loses messages beyond this, counted, instead of growing the daemon.
 */
export const MCAP_PENDING_MAX_BYTES = 16 * 1024 * 1024

/** One MCAP channel: a topic with its message encoding and (optional) schema. */
export interface McapChannelSpec {
  topic: string
  /** `json`, or another encoding; raw bytes have no well-known one (see channel-topics.ts). */
  messageEncoding: string
  schema?: { name: string, encoding: string, data: Uint8Array }
  metadata?: Record<string, string>
}

export interface McapFileStats {
  messages: number
  /** Message bytes written (payloads, before chunk and index overhead). */
  bytes: number
  /** Messages lost because the disk fell behind by MCAP_PENDING_MAX_BYTES. */
  dropped: number
}

export interface McapFileEvents {
  /** A write failed (disk full, file removed): the file stops here, unfinalised. */
  failed: [Error]
}

interface Pending {
  spec: McapChannelSpec
  logTime: bigint
  publishTime: bigint
  data: Uint8Array
}

/** Process-monotonic nanoseconds since the Unix epoch: receive times that never go back (a wall clock may). */
export function receiveTimeNs (): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
}

/** McapWriter's output: a file handle, appended to, with the position McapWriter's indexes need. */
class FileOutput implements IWritable {
  readonly #handle: fs.FileHandle
  #position = 0n

  constructor (handle: fs.FileHandle) {
    this.#handle = handle
  }

  async write (buffer: Uint8Array): Promise<void> {
    let done = 0
    while (done < buffer.byteLength) {
      const { bytesWritten } = await this.#handle.write(buffer, done, buffer.byteLength - done)
      done += bytesWritten
    }
    this.#position += BigInt(buffer.byteLength)
  }

  position (): bigint {
    return this.#position
  }
}

/**
 * An MCAP file being written: chunked and indexed (@mcap/core's McapWriter),
 * fed without waiting (write() queues, one McapWriter call at a time, as it
 * requires), bounded in memory, and finalised by close(): the last chunk, the
 * data end, the summary (schemas, channels, statistics, chunk indexes), the
 * summary offsets and the footer. Channels and schemas are registered on
 * their first message.
 */
export class McapFile extends TypedEmitter<McapFileEvents> {
  readonly path: string
  readonly #handle: fs.FileHandle
  readonly #writer: McapWriter
  readonly #channels = new Map<string, { id: number, sequence: number }>()
  readonly #schemas = new Map<string, number>()
  readonly #queue: Pending[] = []
  #queuedBytes = 0
  #draining: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #failed: Error | undefined
  readonly #stats: McapFileStats = { messages: 0, bytes: 0, dropped: 0 }

  private constructor (path: string, handle: fs.FileHandle) {
    super()
    this.path = path
    this.#handle = handle
    this.#writer = new McapWriter({ writable: new FileOutput(handle), chunkSize: MCAP_CHUNK_BYTES })
  }

  /** Create `path` (which must not exist) and write the MCAP header. */
  static async create (path: string, profile = ''): Promise<McapFile> {
    let handle: fs.FileHandle
    try {
      handle = await fs.open(path, 'wx', 0o644)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new ConflictError(`${path} exists already: choose another file`)
      throw new BadRequestError(`cannot create ${path}: ${(err as Error).message}`)
    }
    const file = new McapFile(path, handle)
    try {
      await file.#writer.start({ profile, library: 'edge-stack' })
    } catch (err) {
      await handle.close().catch(() => {})
      throw new BadRequestError(`cannot write ${path}: ${(err as Error).message}`)
    }
    return file
  }

  get stats (): McapFileStats { return { ...this.#stats } }
  get error (): Error | undefined { return this.#failed }

  /**
   * Queue one message; false when it is not taken (the queue is full, the
   * file closing or failed). The caller gives the times: log time is when
   * this daemon received the message, publish time when it was made, if known.
   */
  write (spec: McapChannelSpec, data: Uint8Array, logTime: bigint, publishTime = logTime): boolean {
    if (this.#closing !== undefined || this.#failed !== undefined) return false
    if (this.#queuedBytes + data.byteLength > MCAP_PENDING_MAX_BYTES) {
      this.#stats.dropped++
      return false
    }
    this.#queue.push({ spec, logTime, publishTime, data })
    this.#queuedBytes += data.byteLength
    this.#kick()
    return true
  }

  /** Write what is queued, then finalise the file (index, summary, footer) and close it; idempotent. */
  async close (): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#draining !== undefined) await this.#draining
      try {
        if (this.#failed === undefined) await this.#writer.end()
      } catch (err) {
        this.#fail(err as Error)
      } finally {
        await this.#handle.close().catch(() => {})
      }
    })()
    await this.#closing
  }

  /** Start writing the queue out unless that runs already. */
  #kick (): void {
    if (this.#draining !== undefined) return
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined
      // Queued after the loop ended and before this ran.
      if (this.#queue.length > 0 && this.#failed === undefined) this.#kick()
    })
  }

  async #drain (): Promise<void> {
    // A message leaves the queue (and its bytes the bound) once McapWriter has it.
    for (let next = this.#queue[0]; next !== undefined && this.#failed === undefined; next = this.#queue[0]) {
      try {
        const channel = await this.#channel(next.spec)
        await this.#writer.addMessage({ channelId: channel.id, sequence: channel.sequence++, logTime: next.logTime, publishTime: next.publishTime, data: next.data })
        this.#stats.messages++
        this.#stats.bytes += next.data.byteLength
      } catch (err) {
        this.#fail(err as Error)
        return
      }
      this.#queue.shift()
      this.#queuedBytes -= next.data.byteLength
    }
  }

  async #channel (spec: McapChannelSpec): Promise<{ id: number, sequence: number }> {
    const key = `${spec.topic}\n${spec.messageEncoding}`
    let channel = this.#channels.get(key)
    if (channel !== undefined) return channel
    let schemaId = 0
    if (spec.schema !== undefined) {
      const schemaKey = `${spec.schema.name}\n${spec.schema.encoding}`
      schemaId = this.#schemas.get(schemaKey) ?? await this.#writer.registerSchema(spec.schema)
      this.#schemas.set(schemaKey, schemaId)
    }
    const id = await this.#writer.registerChannel({ topic: spec.topic, messageEncoding: spec.messageEncoding, schemaId, metadata: new Map(Object.entries(spec.metadata ?? {})) })
    channel = { id, sequence: 0 }
    this.#channels.set(key, channel)
    return channel
  }

  #fail (err: Error): void {
    if (this.#failed !== undefined) return
    this.#failed = err
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.emit('failed', err)
  }
}
