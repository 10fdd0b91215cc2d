import { spawn } from 'node:child_process'

/**
 * A UDP ping between two network namespaces (the machines have no ping
 * binary): an echo server in `serverNs` on `port`, a client in `clientNs`
 * sending a probe every `intervalMs` and printing each RTT. The echo leaves
 * the server's namespace by its egress, so a queue there shows in the RTT.
 */
const SERVER = 'const s=require("node:dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(Number(process.argv[1]))'
const CLIENT = 'const c=require("node:dgram").createSocket("udp4");c.on("message",m=>{console.log((performance.now()-m.readDoubleBE(0)).toFixed(2))});setInterval(()=>{const b=Buffer.alloc(8);b.writeDoubleBE(performance.now());c.send(b,Number(process.argv[2]),process.argv[1])},Number(process.argv[3]))'

export async function udpPing<T> (serverNs: string, clientNs: string, addr: string, during: () => Promise<T>, port = 47_017, intervalMs = 100): Promise<{ result: T, rtts: number[] }> {
  const server = spawn('ip', ['netns', 'exec', serverNs, process.execPath, '-e', SERVER, String(port)], { stdio: 'ignore' })
  await new Promise(resolve => setTimeout(resolve, 300))
  const client = spawn('ip', ['netns', 'exec', clientNs, process.execPath, '-e', CLIENT, addr, String(port), String(intervalMs)], { stdio: ['ignore', 'pipe', 'ignore'] })
  const rtts: number[] = []
  let rest = ''
  client.stdout.on('data', (data: Buffer) => {
    const lines = (rest + data.toString()).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line !== '') rtts.push(Number(line))
  })
  try {
    return { result: await during(), rtts }
  } finally {
    client.kill('SIGTERM')
    server.kill('SIGTERM')
  }
}
