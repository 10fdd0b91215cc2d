import { describe, expect, it } from 'vitest'
import { fastMsgId } from '../../src/signalling/libp2p-node.ts'

const msg = (from: number[], seqno: number[], data = [1, 2, 3]): any => ({ from: Uint8Array.from(from), seqno: Uint8Array.from(seqno), data: Uint8Array.from(data), topic: 't' })

describe('gossipsub fast message id', () => {
  it('is author and sequence number: copies of one record share it, other records do not', () => {
    expect(fastMsgId(msg([1, 2], [0, 7]))).toBe(fastMsgId(msg([1, 2], [0, 7], [9, 9])))
    expect(fastMsgId(msg([1, 2], [0, 7]))).not.toBe(fastMsgId(msg([1, 2], [0, 8])))
    expect(fastMsgId(msg([1, 2], [0, 7]))).not.toBe(fastMsgId(msg([1, 3], [0, 7])))
    // A field boundary cannot be moved to forge another author's id.
    expect(fastMsgId(msg([1, 2, 3], [4]))).not.toBe(fastMsgId(msg([1, 2], [3, 4])))
    expect(fastMsgId({ topic: 't', data: new Uint8Array() } as any)).toBe('/')
  })
})
