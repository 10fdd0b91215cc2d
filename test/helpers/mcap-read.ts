import fs from 'node:fs/promises'
import { McapIndexedReader, McapStreamReader, type McapTypes } from '@mcap/core'

export interface ReadMessage {
  topic: string
  messageEncoding: string
  schemaName: string | null
  logTime: bigint
  publishTime: bigint
  data: Uint8Array
}

export interface ReadMcap {
  reader: McapIndexedReader
  /** Every message in log-time order, through the index (chunk indexes, message indexes). */
  messages: ReadMessage[]
  /** Record counts of a front-to-back read with CRCs checked (what `mcap doctor` reads). */
  records: Record<string, number>
}

/**
 * Read an MCAP file the two ways @mcap/core offers: McapIndexedReader from the
 * footer and summary (fails on a file that was not finalised), and
 * McapStreamReader from the magic to the footer, with every CRC checked.
 */
export async function readMcap (file: string): Promise<ReadMcap> {
  const handle = await fs.open(file, 'r')
  try {
    const size = BigInt((await handle.stat()).size)
    const reader = await McapIndexedReader.Initialize({
      readable: {
        size: async () => size,
        read: async (offset, length) => {
          const buffer = Buffer.alloc(Number(length))
          await handle.read(buffer, 0, buffer.byteLength, Number(offset))
          return buffer
        }
      }
    })
    const messages: ReadMessage[] = []
    for await (const m of reader.readMessages({ validateCrcs: true })) {
      const channel = reader.channelsById.get(m.channelId)
      const schema = channel === undefined ? undefined : reader.schemasById.get(channel.schemaId)
      messages.push({ topic: channel?.topic ?? '?', messageEncoding: channel?.messageEncoding ?? '?', schemaName: schema?.name ?? null, logTime: m.logTime, publishTime: m.publishTime, data: m.data })
    }
    const stream = new McapStreamReader({ validateCrcs: true })
    stream.append(await fs.readFile(file))
    const records: Record<string, number> = {}
    for (let record: McapTypes.TypedMcapRecord | undefined; (record = stream.nextRecord()) !== undefined;) {
      records[record.type] = (records[record.type] ?? 0) + 1
    }
    if (!stream.done()) throw new Error(`${file}: the stream reader did not reach the end magic`)
    return { reader, messages, records }
  } finally {
    await handle.close()
  }
}
