import { WebSocket } from 'ws'

/** A local program's end of a data channel: edged's WebSocket /v1/channels/:peer/:label on the control socket. */
export async function openChannelSocket (socket: string, peer: string, label: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws+unix://${socket}:/v1/channels/${peer}/${label}`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('error', reject)
    ws.once('close', (code, reason) => { reject(new Error(`channel socket closed ${code} ${reason.toString()}`)) })
  })
  return ws
}

/** Send `bytes` in `size`-byte binary messages as fast as the socket takes them (wait while more than `highWaterMark` is unsent). */
export async function sendBinary (ws: WebSocket, bytes: number, size: number, highWaterMark: number): Promise<void> {
  const chunk = Buffer.alloc(size, 7)
  for (let sent = 0; sent < bytes; sent += size) {
    if (ws.readyState !== WebSocket.OPEN) throw new Error('channel socket closed while sending')
    if (ws.bufferedAmount >= highWaterMark) {
      await new Promise<void>((resolve, reject) => { ws.send(chunk, { binary: true }, err => { if (err == null) resolve(); else reject(err) }) })
    } else {
      ws.send(chunk, { binary: true })
    }
  }
}

/** Resolves once `bytes` binary bytes arrived on `ws` (rejects if it closes first). */
export async function receiveBinary (ws: WebSocket, bytes: number, timeoutMs: number): Promise<void> {
  let received = 0
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer)
      ws.off('message', onMessage)
      ws.off('close', onClose)
      if (err === undefined) resolve(); else reject(err)
    }
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (!isBinary) return
      received += data.byteLength
      if (received >= bytes) done()
    }
    const onClose = (code: number, reason: Buffer): void => { done(new Error(`channel socket closed (${code} ${reason.toString()}) after ${received} of ${bytes} bytes`)) }
    const timer = setTimeout(() => { done(new Error(`only ${received} of ${bytes} bytes in ${timeoutMs} ms`)) }, timeoutMs)
    ws.on('message', onMessage)
    ws.on('close', onClose)
  })
}

/** Echo every text message back (binary ones are left alone). Returns a function that stops it. */
export function echoText (ws: WebSocket): () => void {
  const onMessage = (data: Buffer, isBinary: boolean): void => { if (!isBinary) ws.send(data, { binary: false }) }
  ws.on('message', onMessage)
  return () => { ws.off('message', onMessage) }
}

/** `count` sequential text pings of `size` bytes, each waiting for its echo; the round-trip times in ms. */
export async function pingText (ws: WebSocket, count: number, size: number, timeoutMs: number): Promise<number[]> {
  const rtts: number[] = []
  let expected = ''
  let arrived: (() => void) | undefined
  const onMessage = (data: Buffer, isBinary: boolean): void => { if (!isBinary && data.toString() === expected) arrived?.() }
  ws.on('message', onMessage)
  try {
    for (let i = 0; i < count; i++) {
      expected = String(i).padStart(size, '.')
      const started = performance.now()
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`ping ${i}: no echo in ${timeoutMs} ms`)) }, timeoutMs)
        arrived = () => { clearTimeout(timer); resolve() }
        ws.send(expected, { binary: false })
      })
      rtts.push(performance.now() - started)
    }
  } finally {
    ws.off('message', onMessage)
  }
  return rtts
}
