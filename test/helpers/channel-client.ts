import { WebSocket } from 'ws'

/** A local program on a daemon: a WebSocket on /v1/channels/:peer/:label over the control socket. */
export async function openChannelSocket (socket: string, peer: string, label: string, query = ''): Promise<WebSocket> {
  const ws = new WebSocket(`ws+unix://${socket}:/v1/channels/${peer}/${label}${query}`)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('error', reject)
    ws.once('close', (code, reason) => { reject(new Error(`closed ${code} ${reason.toString()}`)) })
  })
  return ws
}

/** Collect text messages until `count` arrived (or the time runs out). */
export async function collect (ws: WebSocket, count: number, timeoutMs = 30_000): Promise<string[]> {
  const got: string[] = []
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`only ${got.length} of ${count} messages in ${timeoutMs} ms`)) }, timeoutMs)
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push(isBinary ? `<binary ${data.byteLength}>` : data.toString())
      if (got.length >= count) { clearTimeout(timer); ws.off('message', onMessage); resolve(got) }
    }
    ws.on('message', onMessage)
  })
}
