import dgram from 'node:dgram'

export const LOOPBACK = '127.0.0.1'

/** A UDP socket bound on 127.0.0.1 (port 0 = any free port). */
export async function bindLoopback (port = 0, host = LOOPBACK): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return socket
}

export async function closeSocket (socket: dgram.Socket | undefined): Promise<void> {
  if (socket === undefined) return
  await new Promise<void>(resolve => {
    try {
      socket.close(() => resolve())
    } catch {
      resolve() // already closed
    }
  })
}
