/**
 * Hand-made kad-dht wire messages (kad-dht does not export its protobuf
 * codec): what an attacker sends, in the shapes kad-dht's dht.proto gives.
 *   Message { type 1 (varint), key 2, record 3, closerPeers 8, providerPeers 9, clusterLevelRaw 10 }
 *   Peer    { id 1, addrs 2 (repeated), connection 3 }
 *   Record  { key 1, value 2 }
 */
export const KAD_PUT_VALUE = 0
export const KAD_ADD_PROVIDER = 2

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return out
}

function field (num: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((num << 3) | 2), ...varint(bytes.byteLength), ...bytes])
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

const typeField = (type: number): Uint8Array => Uint8Array.from([0x08, ...varint(type)])

/** ADD_PROVIDER of `key` (a CID's multihash bytes) by `peerId` (its multihash bytes) at `addrs` (multiaddr bytes). */
export function addProvider (key: Uint8Array, peerId: Uint8Array, addrs: Uint8Array[]): Uint8Array {
  const peer = concat([field(1, peerId), ...addrs.map(a => field(2, a))])
  return concat([typeField(KAD_ADD_PROVIDER), field(2, key), field(9, peer)])
}

/** PUT_VALUE of a record `key` → `value`. */
export function putValue (key: Uint8Array, value: Uint8Array): Uint8Array {
  const record = concat([field(1, key), field(2, value)])
  return concat([typeField(KAD_PUT_VALUE), field(2, key), field(3, record)])
}

/** A length prefix (as kad-dht frames its messages). */
export function lengthPrefix (length: number): Uint8Array {
  return Uint8Array.from(varint(length))
}
